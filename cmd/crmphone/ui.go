package main

import "github.com/labstack/echo/v4"

// registerUI mounts the softphone page and the JS SDK (ui/web).
func registerUI(e *echo.Echo) {}
