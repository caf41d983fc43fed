package packagecheck

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Resource type IDs of a PE resource directory (winuser.h).
const (
	rtIcon      = 3
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

// resources returns the data of every resource in f's .rsrc section by type ID.
func resources(f *pe.File) (map[uint32][][]byte, error) {
	sec := f.Section(".rsrc")
	if sec == nil {
		return nil, errors.New("no .rsrc section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	out := map[uint32][][]byte{}
	// A resource directory: 16-byte header with the named and ID entry counts, then
	// 8-byte entries (name or ID, offset; the high bit of the offset marks a
	// subdirectory). Levels: type, name, language; leaves are data entries whose
	// offset is an RVA.
	var walk func(off uint32, depth int, typ uint32) error
	walk = func(off uint32, depth int, typ uint32) error {
		if depth > 3 || int(off)+16 > len(data) {
			return fmt.Errorf("resource directory at %#x is out of bounds", off)
		}
		n := int(binary.LittleEndian.Uint16(data[off+12:])) + int(binary.LittleEndian.Uint16(data[off+14:]))
		for i := 0; i < n; i++ {
			e := int(off) + 16 + 8*i
			if e+8 > len(data) {
				return fmt.Errorf("resource entry at %#x is out of bounds", e)
			}
			name := binary.LittleEndian.Uint32(data[e:])
			target := binary.LittleEndian.Uint32(data[e+4:])
			t := typ
			if depth == 0 {
				t = name
			}
			if target&0x80000000 != 0 {
				if err := walk(target&0x7fffffff, depth+1, t); err != nil {
					return err
				}
				continue
			}
			if int(target)+16 > len(data) {
				return fmt.Errorf("resource data entry at %#x is out of bounds", target)
			}
			rva := binary.LittleEndian.Uint32(data[target:])
			size := binary.LittleEndian.Uint32(data[target+4:])
			start := int64(rva) - int64(sec.VirtualAddress)
			if start < 0 || start+int64(size) > int64(len(data)) {
				return fmt.Errorf("resource data at RVA %#x (%d bytes) is outside .rsrc", rva, size)
			}
			out[t] = append(out[t], data[start:start+int64(size)])
		}
		return nil
	}
	return out, walk(0, 0, 0)
}

// fixedFileVersion reads VS_FIXEDFILEINFO's file version out of a VS_VERSIONINFO
// resource as its four parts.
func fixedFileVersion(versionInfo []byte) ([4]uint16, error) {
	sig := binary.LittleEndian.AppendUint32(nil, 0xFEEF04BD)
	i := bytes.Index(versionInfo, sig)
	if i < 0 || i+16 > len(versionInfo) {
		return [4]uint16{}, errors.New("no VS_FIXEDFILEINFO in the version resource")
	}
	ms := binary.LittleEndian.Uint32(versionInfo[i+8:])
	ls := binary.LittleEndian.Uint32(versionInfo[i+12:])
	return [4]uint16{uint16(ms >> 16), uint16(ms), uint16(ls >> 16), uint16(ls)}, nil
}

// versionString finds the value of a StringFileInfo entry (UTF-16LE key, then value)
// in a VS_VERSIONINFO resource.
func versionString(versionInfo []byte, key string) (string, bool) {
	k := utf16le(key + "\x00")
	i := bytes.Index(versionInfo, k)
	if i < 0 {
		return "", false
	}
	i += len(k)
	i += i % 4 // values start on a 32-bit boundary
	var s []rune
	for ; i+1 < len(versionInfo); i += 2 {
		c := binary.LittleEndian.Uint16(versionInfo[i:])
		if c == 0 {
			return string(s), true
		}
		s = append(s, rune(c))
	}
	return "", false
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// checkExe lists what is wrong with the Windows executable at path for an app of
// version want (FyneApp.toml's, e.g. "0.1.0") and build number: it must be a PE32+ GUI
// program for x86-64 with an icon, a manifest and a version resource carrying the
// version, and carry stamp (the -X cli.Version value) in its data.
func checkExe(path, want string, build int, stamp string) []error {
	f, err := pe.Open(path)
	if err != nil {
		return []error{fmt.Errorf("not a PE file: %w", err)}
	}
	defer f.Close()
	var errs []error
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		errs = append(errs, fmt.Errorf("machine %#x, want x86-64 (%#x)", f.Machine, pe.IMAGE_FILE_MACHINE_AMD64))
	}
	if f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 || f.Characteristics&pe.IMAGE_FILE_DLL != 0 {
		errs = append(errs, fmt.Errorf("characteristics %#x: not an executable image", f.Characteristics))
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	switch {
	case !ok:
		errs = append(errs, fmt.Errorf("optional header %T: not PE32+", f.OptionalHeader))
	case oh.Magic != 0x20b:
		errs = append(errs, fmt.Errorf("optional header magic %#x, want PE32+ (0x20b)", oh.Magic))
	case oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI:
		errs = append(errs, fmt.Errorf("subsystem %d, want the Windows GUI (%d): a console would open with the app", oh.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI))
	}
	res, err := resources(f)
	if err != nil {
		return append(errs, fmt.Errorf("resources: %w", err))
	}
	if len(res[rtIcon]) == 0 || len(res[rtGroupIcon]) == 0 {
		errs = append(errs, fmt.Errorf("no icon resource (%d icons, %d icon groups)", len(res[rtIcon]), len(res[rtGroupIcon])))
	}
	for i, ico := range res[rtIcon] {
		// Each icon image is a PNG or a DIB (BITMAPINFOHEADER, 40 bytes).
		if !bytes.HasPrefix(ico, []byte("\x89PNG\r\n\x1a\n")) && !(len(ico) > 40 && binary.LittleEndian.Uint32(ico) == 40) {
			errs = append(errs, fmt.Errorf("icon %d is neither a PNG nor a bitmap", i))
		}
	}
	if len(res[rtManifest]) == 0 {
		errs = append(errs, errors.New("no manifest resource"))
	}
	if len(res[rtVersion]) != 1 {
		return append(errs, fmt.Errorf("%d version resources, want 1", len(res[rtVersion])))
	}
	vi := res[rtVersion][0]
	var parts [3]uint16
	if _, err := fmt.Sscanf(want, "%d.%d.%d", &parts[0], &parts[1], &parts[2]); err != nil {
		return append(errs, fmt.Errorf("FyneApp.toml version %q: %v", want, err))
	}
	wantFixed := [4]uint16{parts[0], parts[1], parts[2], uint16(build)}
	if got, err := fixedFileVersion(vi); err != nil || got != wantFixed {
		errs = append(errs, fmt.Errorf("file version %v (%v), want %v", got, err, wantFixed))
	}
	wantProduct := fmt.Sprintf("%s.%d", want, build)
	if got, ok := versionString(vi, "ProductVersion"); !ok || got != wantProduct {
		errs = append(errs, fmt.Errorf("ProductVersion %q (found: %v), want %q", got, ok, wantProduct))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return append(errs, err)
	}
	if !bytes.Contains(raw, []byte(stamp)) {
		errs = append(errs, fmt.Errorf("the binary does not carry the version stamp %q (tokendesk version would say (devel))", stamp))
	}
	return errs
}
