package main

import (
	"github.com/labstack/echo/v4"

	"github.com/crmphone/crmphone/ui/web"
)

// registerUI mounts the softphone page and the JS SDK.
func registerUI(e *echo.Echo) { web.Register(e) }
