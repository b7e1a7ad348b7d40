"""Connectors: a small framework (auth, paging, retry, incremental state, raw landing) and one
package per departmental system that only declares its streams. Arrives with issue 3."""
