package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireTool finds an external program; in CI (PARLEY_TEST_PULSE=1, where
// the audio tools are installed) a missing tool fails the test.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("PARLEY_TEST_PULSE") == "1" {
			t.Fatalf("%s not installed: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func exportTone(t *testing.T, dur time.Duration, lose map[uint32]bool) (string, []Packet) {
	t.Helper()
	pkts, err := EncodePCM(tone(440, 0.3, int(durationToSamples(dur))), EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []Packet
	for _, p := range pkts {
		if !lose[p.Seq] {
			kept = append(kept, p)
		}
	}
	path := filepath.Join(t.TempDir(), "message.opus")
	if err := ExportOpusFile(context.Background(), path, NewSliceSource(kept)); err != nil {
		t.Fatal(err)
	}
	return path, pkts
}

// TestOggStructure checks the pages we write: CRCs, flags, pre-skip and the
// final granule position.
func TestOggStructure(t *testing.T) {
	path, pkts := exportTone(t, 3*time.Second, nil)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pages, audioPackets int
	var lastGranule int64
	var lastFlags byte
	for len(b) > 0 {
		if !bytes.HasPrefix(b, []byte("OggS")) {
			t.Fatalf("page %d: no capture pattern", pages)
		}
		nseg := int(b[26])
		size := 27 + nseg
		for _, l := range b[27 : 27+nseg] {
			size += int(l)
			if l < 255 && pages >= 2 {
				audioPackets++
			}
		}
		page := append([]byte(nil), b[:size]...)
		want := binary.LittleEndian.Uint32(page[22:])
		binary.LittleEndian.PutUint32(page[22:], 0)
		if got := oggCRC(page); got != want {
			t.Fatalf("page %d: crc %08x, want %08x", pages, got, want)
		}
		if pages == 0 {
			if page[5] != 0x02 || string(page[28:36]) != "OpusHead" {
				t.Fatalf("first page: flags %x, %q", page[5], page[28:36])
			}
			if ps := binary.LittleEndian.Uint16(page[28+10:]); ps != opusPreSkip {
				t.Fatalf("pre-skip %d, want %d", ps, opusPreSkip)
			}
		}
		lastGranule = int64(binary.LittleEndian.Uint64(page[6:]))
		lastFlags = page[5]
		b = b[size:]
		pages++
	}
	if lastFlags&0x04 == 0 {
		t.Errorf("last page lacks end-of-stream flag")
	}
	if audioPackets != len(pkts) {
		t.Errorf("%d audio packets in file, want %d", audioPackets, len(pkts))
	}
	if want := int64(opusPreSkip + len(pkts)*FrameSamples); lastGranule != want {
		t.Errorf("final granule %d, want %d", lastGranule, want)
	}
}

// TestOggOpensInExternalTools: opusinfo validates the stream, ffprobe
// reports the right codec and duration, and opusdec decodes it to a tone of
// the right frequency — also with lost packets written as gaps.
func TestOggOpensInExternalTools(t *testing.T) {
	opusinfo := requireTool(t, "opusinfo")
	ffprobe := requireTool(t, "ffprobe")
	opusdec := requireTool(t, "opusdec")

	path, pkts := exportTone(t, 3*time.Second, map[uint32]bool{0: true, 40: true, 41: true})
	out, err := exec.Command(opusinfo, path).CombinedOutput()
	if err != nil {
		t.Fatalf("opusinfo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Pre-skip: 312") || strings.Contains(strings.ToLower(string(out)), "warning") {
		t.Errorf("opusinfo did not accept the file:\n%s", out)
	}

	out, err = exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels:format=duration",
		"-of", "default=noprint_wrappers=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	info := string(out)
	for _, want := range []string{"codec_name=opus", "channels=1"} {
		if !strings.Contains(info, want) {
			t.Errorf("ffprobe: missing %q in\n%s", want, info)
		}
	}
	if i := strings.Index(info, "duration="); i >= 0 {
		d, _ := strconv.ParseFloat(strings.TrimSpace(strings.SplitN(info[i+9:], "\n", 2)[0]), 64)
		if want := float64(len(pkts)) * 0.02; d < want-0.03 || d > want+0.03 {
			t.Errorf("ffprobe duration %.3f s, want %.3f", d, want)
		}
	} else {
		t.Errorf("ffprobe gave no duration:\n%s", info)
	}

	wav := filepath.Join(t.TempDir(), "decoded.wav")
	if out, err := exec.Command(opusdec, "--quiet", "--rate", "48000", path, wav).CombinedOutput(); err != nil {
		t.Fatalf("opusdec: %v\n%s", err, out)
	}
	pcm, err := ReadWAVFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(pkts) * FrameSamples; abs(len(pcm)-want) > FrameSamples {
		t.Errorf("opusdec decoded %d samples, want %d", len(pcm), want)
	}
	if f := dominantFreq(pcm[SampleRate:2*SampleRate], 400, 480); f < 436 || f > 444 {
		t.Errorf("decoded tone at %.1f Hz, want 440", f)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	in := tone(1000, 0.5, 4800)
	var buf bytes.Buffer
	if err := WriteWAV(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadWAV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d samples, want %d", len(out), len(in))
	}
	for i := range in {
		if abs(int(out[i])-int(in[i])) > 1 {
			t.Fatalf("sample %d = %d, want %d", i, out[i], in[i])
		}
	}
}
