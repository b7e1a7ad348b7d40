"""The API's routes, a module per resource."""

from yiwang.api.routes import health, projects, quality, tables

# in the order the OpenAPI document lists them
ROUTERS = (health.router, projects.router, tables.router, quality.router)
