package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// indexPage stands in for the map page until api/web/ serves it.
const indexPage = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sanse 校园安防三色预警</title>
</head>
<body>
<h1>校园安防三色预警</h1>
<p>预警地图页面正在建设中。</p>
<p>各学校当前的红、黄、绿预警等级见 <a href="/api/v1/map">/api/v1/map</a>（GeoJSON）。</p>
</body>
</html>
`

// handleIndex serves GET /: a placeholder page linking to the map data.
func (s *Server) handleIndex(c echo.Context) error {
	return c.HTML(http.StatusOK, indexPage)
}
