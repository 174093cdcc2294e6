package aritest

import "github.com/crmphone/crmphone/webrtc/g722"

// G722Encoder encodes 16 kHz audio to G.722 (64 kbit/s) for the simulated
// externalMedia channels; the codec itself is webrtc/g722.
type G722Encoder struct{ e *g722.Encoder }

// NewG722Encoder returns an encoder with fresh state.
func NewG722Encoder() *G722Encoder { return &G722Encoder{g722.NewEncoder()} }

// Encode returns one byte per two samples.
func (e *G722Encoder) Encode(pcm16k []int16) []byte { return e.e.Encode(nil, pcm16k) }

// G722Decoder decodes G.722 to 16 kHz audio.
type G722Decoder struct{ d *g722.Decoder }

// NewG722Decoder returns a decoder with fresh state.
func NewG722Decoder() *G722Decoder { return &G722Decoder{g722.NewDecoder()} }

// Decode returns two samples per byte.
func (d *G722Decoder) Decode(b []byte) []int16 { return d.d.Decode(nil, b) }
