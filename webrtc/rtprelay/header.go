// Package rtprelay holds the allocation-free RTP header work of the media relay: locating the payload,
// rewriting headers in place for each direction, and the loss and jitter meters. It knows nothing about
// WebRTC or sockets so that it can be tested and benchmarked in isolation.
package rtprelay

import (
	"encoding/binary"
	"errors"
)

// HeaderLen is the size of a fixed RTP header without CSRCs or extensions.
const HeaderLen = 12

// Errors returned for packets that cannot be relayed.
var (
	ErrShortPacket = errors.New("rtprelay: packet too short")
	ErrNotRTPv2    = errors.New("rtprelay: not an RTP version 2 packet")
	ErrBadPadding  = errors.New("rtprelay: invalid RTP padding")
)

// PayloadBounds returns where the payload of the RTP packet b starts and ends, skipping CSRCs and a
// header extension and excluding padding.
func PayloadBounds(b []byte) (start, end int, err error) {
	if len(b) < HeaderLen {
		return 0, 0, ErrShortPacket
	}
	if b[0]>>6 != 2 {
		return 0, 0, ErrNotRTPv2
	}
	start = HeaderLen + 4*int(b[0]&0x0F)
	if len(b) < start {
		return 0, 0, ErrShortPacket
	}
	if b[0]&0x10 != 0 {
		if len(b) < start+4 {
			return 0, 0, ErrShortPacket
		}
		start += 4 + 4*int(binary.BigEndian.Uint16(b[start+2:]))
		if len(b) < start {
			return 0, 0, ErrShortPacket
		}
	}
	end = len(b)
	if b[0]&0x20 != 0 {
		pad := int(b[end-1])
		if pad == 0 || end-pad < start {
			return 0, 0, ErrBadPadding
		}
		end -= pad
	}
	return start, end, nil
}

// Field accessors for a packet already checked to be at least HeaderLen long.

// Marker reports the marker bit.
func Marker(b []byte) bool { return b[1]&0x80 != 0 }

// PayloadType returns the 7-bit payload type.
func PayloadType(b []byte) uint8 { return b[1] & 0x7F }

// Seq returns the sequence number.
func Seq(b []byte) uint16 { return binary.BigEndian.Uint16(b[2:]) }

// Timestamp returns the RTP timestamp.
func Timestamp(b []byte) uint32 { return binary.BigEndian.Uint32(b[4:]) }

// SSRC returns the synchronisation source.
func SSRC(b []byte) uint32 { return binary.BigEndian.Uint32(b[8:]) }

// PutHeader writes a fixed 12-byte header (version 2, no padding, extension or CSRC) into b[:12].
func PutHeader(b []byte, payloadType uint8, marker bool, seq uint16, ts, ssrc uint32) {
	_ = b[11]
	b[0] = 0x80
	b[1] = payloadType & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}
