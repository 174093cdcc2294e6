package calls_test

import "github.com/crmphone/crmphone/ari"

func bridgeParams(id string) ari.CreateBridgeParams {
	return ari.CreateBridgeParams{Type: []string{"mixing"}, BridgeID: id}
}

func externalMediaParams(id string) ari.ExternalMediaParams {
	return ari.ExternalMediaParams{ChannelID: id, ExternalHost: "127.0.0.1:9", Format: "ulaw"}
}
