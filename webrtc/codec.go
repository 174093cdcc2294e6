package webrtc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	pionwebrtc "github.com/pion/webrtc/v4"

	"github.com/crmphone/crmphone/webrtc/g711"
)

// G722Silence is the payload byte sent while muted on G.722. A frame of it decodes to digital silence
// from a reset decoder and stays below -56 dBFS after speech (checked with a reference G.722 decoder); the
// all-zero PCM input to an encoder gives idle-channel noise instead, so a fixed byte is the better choice.
const G722Silence byte = 0xFC

// Codec is the audio codec negotiated with the browser. The relay never transcodes: Asterisk's
// externalMedia channel is created with ExternalMediaFormat and receives the browser's payload unchanged.
type Codec struct {
	Name                string `json:"name"`                // "G722", "PCMU" or "PCMA"
	PayloadType         uint8  `json:"payloadType"`         // static RTP payload type (RFC 3551) used towards Asterisk
	ClockRate           uint32 `json:"clockRate"`           // RTP clock; 8000 for all three (G.722 by RFC 3551)
	ExternalMediaFormat string `json:"externalMediaFormat"` // format= of POST /channels/externalMedia
	SilenceByte         byte   `json:"-"`                   // payload byte that encodes silence
}

// The codecs we accept, in preference order: G.722 for wideband when the browser offers it, then the
// G.711 laws, which every browser and Asterisk support.
var (
	CodecG722 = Codec{Name: "G722", PayloadType: 9, ClockRate: 8000, ExternalMediaFormat: "g722", SilenceByte: G722Silence}
	CodecPCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000, ExternalMediaFormat: "ulaw", SilenceByte: g711.ULawSilence}
	CodecPCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000, ExternalMediaFormat: "alaw", SilenceByte: g711.ALawSilence}
)

var codecPreference = []Codec{CodecG722, CodecPCMU, CodecPCMA}

// ErrNoCommonCodec is returned by Answer when the offer has no audio section with G722, PCMU or PCMA.
var ErrNoCommonCodec = errors.New("webrtc: offer has no G722, PCMU or PCMA audio")

func (c Codec) mimeType() string { return "audio/" + c.Name }

func (c Codec) capability() pionwebrtc.RTPCodecCapability {
	return pionwebrtc.RTPCodecCapability{MimeType: c.mimeType(), ClockRate: c.ClockRate}
}

// chooseCodec picks our preferred codec among those the offer's first audio section lists and returns it
// with the payload type the browser uses for it (normally the static one).
func chooseCodec(offer *sdp.SessionDescription) (Codec, uint8, error) {
	for _, m := range offer.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		offered := map[string]uint8{}
		for _, f := range m.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 7)
			if err != nil {
				continue
			}
			name := staticName(uint8(pt))
			if rtpmap, ok := rtpmapFor(m, f); ok {
				name = rtpmap
			}
			if _, seen := offered[name]; !seen && name != "" {
				offered[name] = uint8(pt)
			}
		}
		for _, c := range codecPreference {
			if pt, ok := offered[c.Name]; ok {
				return c, pt, nil
			}
		}
		return Codec{}, 0, fmt.Errorf("%w (offered %v)", ErrNoCommonCodec, m.MediaName.Formats)
	}
	return Codec{}, 0, ErrNoCommonCodec
}

func staticName(pt uint8) string {
	switch pt {
	case 0:
		return "PCMU"
	case 8:
		return "PCMA"
	case 9:
		return "G722"
	}
	return ""
}

// rtpmapFor returns the upper-case encoding name of "a=rtpmap:<pt> NAME/8000" for an 8 kHz mono codec.
func rtpmapFor(m *sdp.MediaDescription, pt string) (string, bool) {
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		id, rest, ok := strings.Cut(a.Value, " ")
		if !ok || id != pt {
			continue
		}
		parts := strings.Split(rest, "/")
		if len(parts) < 2 || parts[1] != "8000" || len(parts) > 2 && parts[2] != "1" {
			return "", true // a codec at another rate or channel count: not one of ours
		}
		return strings.ToUpper(parts[0]), true
	}
	return "", false
}
