package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// opusPreSkip is the number of samples a decoder drops at the start of an
// Ogg Opus stream: libopus's encoder lookahead at 48 kHz for the VOIP and
// audio applications (2.5 ms + 4 ms delay compensation = 312 samples), the
// value opusenc writes too.
const opusPreSkip = 312

// oggPacketsPerPage groups one second of packets per page.
const oggPacketsPerPage = 50

// OggWriter writes Opus packets as an Ogg Opus file (RFC 7845) that common
// players open: OpusHead with pre-skip, OpusTags, then audio pages whose
// granule position is the 48 kHz sample count (including pre-skip) at the
// end of the page's last packet. Not safe for concurrent use.
type OggWriter struct {
	w       io.Writer
	serial  uint32
	pageSeq uint32
	granule int64
	pending [][]byte
	toc     byte
	closed  bool
}

// NewOggWriter writes the two header pages and returns the writer. Vendor
// is recorded in OpusTags.
func NewOggWriter(w io.Writer, serial uint32, vendor string) (*OggWriter, error) {
	// Until a real packet shows the encoder's mode, lost packets borrow
	// the TOC of a 20 ms SILK wideband frame (config 9).
	o := &OggWriter{w: w, serial: serial, toc: 9 << 3}
	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8] = 1 // version
	head[9] = 1 // channels
	binary.LittleEndian.PutUint16(head[10:], opusPreSkip)
	binary.LittleEndian.PutUint32(head[12:], SampleRate) // original rate
	// output gain 0, mapping family 0
	if err := o.writePage([][]byte{head}, 0, 0x02); err != nil {
		return nil, err
	}
	tags := make([]byte, 0, 16+len(vendor))
	tags = append(tags, "OpusTags"...)
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor)))
	tags = append(tags, vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	if err := o.writePage([][]byte{tags}, 0, 0); err != nil {
		return nil, err
	}
	o.granule = opusPreSkip
	return o, nil
}

// WritePacket adds one 20 ms packet. An empty payload (a lost packet) is
// written as a zero-length Opus frame, which decoders conceal.
func (o *OggWriter) WritePacket(data []byte) error {
	if o.closed {
		return ErrClosed
	}
	if len(data) > 0 {
		o.toc = data[0]
	} else {
		data = []byte{o.toc &^ 0x03} // code 0: one frame, here of length 0
	}
	o.pending = append(o.pending, data)
	if len(o.pending) > oggPacketsPerPage {
		page := o.pending[:oggPacketsPerPage]
		o.granule += int64(len(page)) * FrameSamples
		if err := o.writePage(page, o.granule, 0); err != nil {
			return err
		}
		o.pending = append(o.pending[:0], o.pending[oggPacketsPerPage:]...)
	}
	return nil
}

// Close writes the last page with the end-of-stream flag. It does not close
// the underlying writer.
func (o *OggWriter) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	o.granule += int64(len(o.pending)) * FrameSamples
	return o.writePage(o.pending, o.granule, 0x04)
}

func (o *OggWriter) writePage(packets [][]byte, granule int64, flags byte) error {
	var lacing []byte
	size := 0
	for _, p := range packets {
		for n := len(p); ; n -= 255 {
			if n < 255 {
				lacing = append(lacing, byte(n))
				break
			}
			lacing = append(lacing, 255)
		}
		size += len(p)
	}
	if len(lacing) > 255 {
		return errors.New("ogg: too many segments for one page")
	}
	page := make([]byte, 27+len(lacing), 27+len(lacing)+size)
	copy(page, "OggS")
	page[5] = flags
	binary.LittleEndian.PutUint64(page[6:], uint64(granule))
	binary.LittleEndian.PutUint32(page[14:], o.serial)
	binary.LittleEndian.PutUint32(page[18:], o.pageSeq)
	page[26] = byte(len(lacing))
	copy(page[27:], lacing)
	for _, p := range packets {
		page = append(page, p...)
	}
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
	o.pageSeq++
	if _, err := o.w.Write(page); err != nil {
		return fmt.Errorf("ogg: write page %d: %w", o.pageSeq-1, err)
	}
	return nil
}

var oggCRCTable = func() [256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04C11DB7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, v := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^v]
	}
	return crc
}

// ExportOpus writes every packet of src to w as an Ogg Opus file. Missing
// packet numbers become concealed gaps so the timing stays right.
func ExportOpus(ctx context.Context, w io.Writer, src PacketSource) error {
	o, err := NewOggWriter(w, 0x5041524c, "Parley")
	if err != nil {
		return fmt.Errorf("export opus: %w", err)
	}
	var next uint32
	for {
		p, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("export opus: read packet %d: %w", next, err)
		}
		if p.Seq < next {
			continue // duplicate or out of order: already covered
		}
		for ; next < p.Seq; next++ {
			if err := o.WritePacket(nil); err != nil {
				return fmt.Errorf("export opus: %w", err)
			}
		}
		if err := o.WritePacket(p.Data); err != nil {
			return fmt.Errorf("export opus: %w", err)
		}
		next++
	}
	if err := o.Close(); err != nil {
		return fmt.Errorf("export opus: %w", err)
	}
	return nil
}

// ExportOpusFile is ExportOpus to a new file at path.
func ExportOpusFile(ctx context.Context, path string, src PacketSource) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("export opus %q: %w", path, err)
	}
	if err := ExportOpus(ctx, f, src); err != nil {
		f.Close()
		return fmt.Errorf("export opus %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export opus %q: %w", path, err)
	}
	return nil
}

// DecodeAll decodes every packet of src into 48 kHz mono PCM, rebuilding
// missing packets from FEC or concealment. With WriteWAV it writes a
// message's decoded audio to a WAV file.
func DecodeAll(ctx context.Context, src PacketSource) ([]int16, error) {
	var pkts [][]byte
	for {
		p, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decode: read packet: %w", err)
		}
		if p.Seq >= maxMessagePackets {
			return nil, fmt.Errorf("decode: packet number %d out of range", p.Seq)
		}
		for len(pkts) <= int(p.Seq) {
			pkts = append(pkts, nil)
		}
		pkts[p.Seq] = p.Data
	}
	dec, err := NewDecoder()
	if err != nil {
		return nil, err
	}
	out := make([]int16, 0, len(pkts)*FrameSamples)
	var frame [FrameSamples]int16
	for i, data := range pkts {
		switch {
		case data != nil:
			if _, err := dec.Decode(data, frame[:]); err != nil {
				return nil, fmt.Errorf("decode packet %d: %w", i, err)
			}
		case i+1 < len(pkts) && pkts[i+1] != nil:
			err = dec.DecodeFEC(pkts[i+1], frame[:])
		default:
			err = dec.Conceal(frame[:])
		}
		if err != nil {
			return nil, fmt.Errorf("decode packet %d: %w", i, err)
		}
		out = append(out, frame[:]...)
	}
	return out, nil
}
