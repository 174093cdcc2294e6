// Package controller is crmphone's domain: operators logging in and going
// online, and (with later packages) calls, routing and records. Transports
// (the softphone websocket, the REST API) call it; it calls storage, presence
// and Asterisk through the small interfaces declared here.
package controller
