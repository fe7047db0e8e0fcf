// Package openapi writes the OpenAPI 3.1 document of a pgfast server
// (DESIGN §11) from its compiled route table: each route's path, methods,
// parameters with their PostgreSQL types as JSON Schema, the result shape
// with a schema per column, the shared error schema and responses, the
// security schemes, the raw query API and the built-in /ping, /health and
// /ready. It imports nothing of pgfast: the engine fills Route values from
// what PREPARE described and calls Build.
//
// Conventions the document follows:
//
//   - A prefix route ("/api/*") has no OpenAPI equivalent (paths have no
//     wildcard). It is written as "/api/{path}": a required path parameter
//     named path (path_, path__, … when the route has a {path} segment
//     already) that stands for the rest of the request path, slashes
//     included, marked x-pgfast-prefix: true on the path item and on the
//     parameter.
//   - Hosts are not part of OpenAPI paths: a route's host is x-pgfast-host
//     on its operations. When routes for several hosts share a path and a
//     method, the most specific host's route is written and the others are
//     listed in its x-pgfast-also.
//   - Schemas are JSON Schema 2020-12: a NULL-able column is a type array
//     with "null" (no OpenAPI 3.0 nullable), and each schema matches the
//     JSON rowcodec writes exactly, edge values included (see
//     SchemaForType).
//   - Operations carry x-pgfast-route, x-pgfast-backend, and where they
//     apply x-pgfast-cache, x-pgfast-upstream, x-pgfast-static,
//     x-pgfast-mock and x-pgfast-jwt-claims (parameters taken from the
//     token, which are not request parameters); schemas of columns and
//     parameters carry x-pgfast-type, the PostgreSQL type.
//   - Only the methods OpenAPI has fields for are written (GET PUT POST
//     DELETE OPTIONS HEAD PATCH TRACE).
package openapi
