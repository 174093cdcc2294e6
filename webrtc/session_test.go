package webrtc

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/crmphone/crmphone/webrtc/g711"
)

func TestCodecNegotiation(t *testing.T) {
	tests := []struct {
		name    string
		offered []Codec
		want    Codec
	}{
		{"G722 preferred when offered", []Codec{CodecPCMU, CodecPCMA, CodecG722}, CodecG722},
		{"PCMU when no G722", []Codec{CodecPCMA, CodecPCMU}, CodecPCMU},
		{"PCMA alone", []Codec{CodecPCMA}, CodecPCMA},
	}
	e := newTestEngine(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := e.NewSession(context.Background(), "neg")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			b := newBrowser(t, tc.offered, tc.want)
			offer := b.offer(t)
			answer, err := s.Answer(context.Background(), offer)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Codec(); got != tc.want {
				t.Fatalf("codec %+v, want %+v", got, tc.want)
			}
			for _, c := range codecPreference {
				has := strings.Contains(answer, " "+c.Name+"/8000")
				if has != (c == tc.want) {
					t.Errorf("answer lists %s: %v (only %s expected)", c.Name, has, tc.want.Name)
				}
			}
			if !strings.Contains(answer, "a=candidate:") || !strings.Contains(answer, "127.0.0.1") {
				t.Errorf("answer has no loopback candidate (gathering not complete):\n%s", answer)
			}
			if !strings.Contains(answer, "a=sendrecv") {
				t.Errorf("answer is not sendrecv:\n%s", answer)
			}
			if _, err := s.Answer(context.Background(), offer); !errors.Is(err, ErrAlreadyAnswered) {
				t.Errorf("second Answer: %v, want ErrAlreadyAnswered", err)
			}
		})
	}
}

func TestAnswerRejectsOfferWithoutOurCodecs(t *testing.T) {
	e := newTestEngine(t)
	s, err := e.NewSession(context.Background(), "opus-only")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	offer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
		"c=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n"
	if _, err := s.Answer(context.Background(), offer); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("err %v, want ErrNoCommonCodec", err)
	}
	if _, err := s.AttachCall(context.Background()); !errors.Is(err, ErrNotAnswered) {
		t.Fatalf("AttachCall before answer: %v, want ErrNotAnswered", err)
	}
}

func ulawTone(freq float64, frames int) [][]byte {
	tone := g711.NewTone(freq, 8000, 8000)
	pcm := make([]int16, 160)
	out := make([][]byte, frames)
	for i := range out {
		tone.Fill(pcm)
		out[i] = g711.EncodeULawFrame(make([]byte, 160), pcm)
	}
	return out
}

// TestBrowserToAsterisk checks the operator's audio path for each codec: static PT, our own SSRC,
// continuous numbering, payload untouched, sent from the relay socket.
func TestBrowserToAsterisk(t *testing.T) {
	for i, codec := range codecPreference {
		t.Run(codec.Name, func(t *testing.T) {
			e := newTestEngine(t)
			s, b, _ := connect(t, e, codecPreference[i:], codec)
			leg, err := s.AttachCall(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer leg.Close()
			ast := newFakeAsterisk(t)
			if err := leg.SetRemote(ast.addr()); err != nil {
				t.Fatal(err)
			}
			frames := ulawTone(1000, 20) // any bytes do: the relay never looks into the payload
			for i, f := range frames {
				b.send(t, uint16(60000+i), uint32(100+160*i), f)
			}
			var firstSSRC, prevTS uint32
			var prevSeq uint16
			var decoded []int16
			for i := range frames {
				p, from := ast.next(t)
				if from.String() != leg.LocalAddr().String() {
					t.Fatalf("packet from %v, want the relay socket %v", from, leg.LocalAddr())
				}
				if p.PayloadType != codec.PayloadType {
					t.Fatalf("PT %d, want %d", p.PayloadType, codec.PayloadType)
				}
				if !bytes.Equal(p.Payload, frames[i]) {
					t.Fatalf("packet %d payload differs", i)
				}
				if i == 0 {
					firstSSRC = p.SSRC
					if !p.Marker {
						t.Error("first packet to Asterisk has no marker")
					}
				} else if p.SSRC != firstSSRC || p.SequenceNumber != prevSeq+1 || p.Timestamp != prevTS+160 || p.Marker {
					t.Fatalf("packet %d: ssrc %#x seq %d ts %d marker %v after ssrc %#x seq %d ts %d",
						i, p.SSRC, p.SequenceNumber, p.Timestamp, p.Marker, firstSSRC, prevSeq, prevTS)
				}
				prevSeq, prevTS = p.SequenceNumber, p.Timestamp
				decoded = append(decoded, g711.DecodeULawFrame(make([]int16, 160), p.Payload)...)
			}
			if f := g711.DominantFrequency(decoded, 8000, 440, 1000, 2000); f != 1000 {
				t.Fatalf("tone at %v Hz after relay, want 1000", f)
			}
			st := waitStats(t, leg, func(st LegStats) bool { return st.ToAsterisk.Packets == 20 })
			if st.ToAsterisk.Bytes != 20*160 || st.ToAsterisk.Lost != 0 || st.ToAsterisk.MutedPackets != 0 {
				t.Fatalf("stats %+v", st.ToAsterisk)
			}
		})
	}
}
