package webrtc

import "math"

// LegStats are the counters of one call leg.
type LegStats struct {
	ToAsterisk ToAsteriskStats `json:"toAsterisk"`
	ToBrowser  ToBrowserStats  `json:"toBrowser"`
	// BrowserReport is the browser's latest RTCP receiver report about the audio we send it, if one
	// arrived since the leg started (browsers send one every few seconds).
	BrowserReport *BrowserReport `json:"browserReport,omitempty"`
}

// ToAsteriskStats count the operator's audio (browser → Asterisk).
type ToAsteriskStats struct {
	Packets      uint64 `json:"packets"`
	Bytes        uint64 `json:"bytes"` // payload bytes
	Lost         uint64 `json:"lost"`  // gaps in the browser's sequence numbers
	MutedPackets uint64 `json:"mutedPackets"`
	// NoRemote counts browser packets dropped because SetRemote was not called yet.
	NoRemote   uint64 `json:"noRemote"`
	Malformed  uint64 `json:"malformed"`
	SendErrors uint64 `json:"sendErrors"`
}

// ToBrowserStats count the far party's audio (Asterisk → browser).
type ToBrowserStats struct {
	Packets  uint64  `json:"packets"`
	Bytes    uint64  `json:"bytes"` // payload bytes
	Lost     uint64  `json:"lost"`  // gaps in Asterisk's sequence numbers
	JitterMs float64 `json:"jitterMs"`
	// DroppedWrongSource counts packets from any address but the one given to SetRemote.
	DroppedWrongSource uint64 `json:"droppedWrongSource"`
	Malformed          uint64 `json:"malformed"`
	WriteErrors        uint64 `json:"writeErrors"`
}

// BrowserReport is the content of an RTCP receiver report from the browser.
type BrowserReport struct {
	Reports      uint64  `json:"reports"`      // reports received during the leg
	FractionLost float64 `json:"fractionLost"` // 0..1, since the previous report
	TotalLost    uint32  `json:"totalLost"`    // cumulative for the session's stream
	JitterMs     float64 `json:"jitterMs"`
}

// Stats returns a snapshot of the leg's counters; safe to call at any time, also after Close.
func (l *Leg) Stats() LegStats {
	clock := float64(l.codec.ClockRate)
	st := LegStats{
		ToAsterisk: ToAsteriskStats{
			Packets:      l.toAst.packets.Load(),
			Bytes:        l.toAst.bytes.Load(),
			Lost:         l.toAst.lost.Load(),
			MutedPackets: l.mutedPkts.Load(),
			NoRemote:     l.noRemote.Load(),
			Malformed:    l.malformedIn.Load(),
			SendErrors:   l.sendErrors.Load(),
		},
		ToBrowser: ToBrowserStats{
			Packets:            l.toBrw.packets.Load(),
			Bytes:              l.toBrw.bytes.Load(),
			Lost:               l.toBrw.lost.Load(),
			JitterMs:           math.Float64frombits(l.jitterTicks.Load()) * 1000 / clock,
			DroppedWrongSource: l.wrongSource.Load(),
			Malformed:          l.malformed.Load(),
			WriteErrors:        l.writeErrors.Load(),
		},
	}
	r := &l.session.report
	if n := r.count.Load(); n > l.reportsBase {
		st.BrowserReport = &BrowserReport{
			Reports:      n - l.reportsBase,
			FractionLost: float64(r.fractionLost.Load()) / 256,
			TotalLost:    r.totalLost.Load(),
			JitterMs:     float64(r.jitter.Load()) * 1000 / clock,
		}
	}
	return st
}

func mathFloat64bits(f float64) uint64 { return math.Float64bits(f) }
