"""The read API: app factory, routes, response cache, the publication follower.

Imports the store."""
