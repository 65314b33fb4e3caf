package api

import (
	_ "embed"
	"sync"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.1 description of every route New
// registers. It is written by hand; the tests of openapi_test.go hold it to
// the routes, the roles of RequiredRole and the bodies the handlers send.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIPath is where the server serves openAPIDocument.
const openAPIPath = "/api/v1/openapi.json"

// openAPIAsset is the served form of the description, prepared (hashed and
// compressed) once per process.
var openAPIAsset = sync.OnceValue(func() *asset { return newAsset("openapi.json", openAPIDocument) })

// routeOpenAPI registers GET /api/v1/openapi.json. The description holds no
// data of any school, so, like the page's assets, it needs no token: only the
// Host check when authentication is on, and the rate limit by address.
func (s *Server) routeOpenAPI(e *echo.Echo) {
	var mw []echo.MiddlewareFunc
	if s.auth != nil {
		mw = append(mw, s.hostOnly)
	}
	mw = append(mw, s.rateLimit)
	doc := openAPIAsset()
	e.GET(openAPIPath, func(c echo.Context) error { return doc.serve(c, cacheRevalidate) }, mw...)
}
