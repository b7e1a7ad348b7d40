"""The API's routes, a module per resource."""

from yiwang.api.routes import changes, exports, health, projects, quality, quarantine, tables

# in the order the OpenAPI document lists them
ROUTERS = (
    health.router,
    projects.router,
    tables.router,
    quarantine.router,
    changes.router,
    exports.router,
    quality.router,
)
