package config

import (
	"reflect"
	"strings"

	"probe/internal/kinds"
)

// The protocol sections of an expectation ([expectation.ssh], ...) belong
// to the kinds: each kind's adapter declares its section's type, and no
// list of them is kept here. To decode them as strictly as the rest of the
// file (a misspelt key is an error at its line, a wrong type names its
// key), the file is decoded into a mirror of File whose expectations have
// one more field per registered section, built from the registry, then
// copied into File.

// decodeMirror is File's mirror for the registered kinds.
type decodeMirror struct {
	file      reflect.Type // File, expectations swapped for expectation
	expect    reflect.Type // Expectation, plus one field per section
	sectioned []*kinds.Kind
}

func newDecodeMirror() *decodeMirror {
	m := &decodeMirror{sectioned: kinds.Sectioned()}
	et := reflect.TypeFor[Expectation]()
	fields := exportedFields(et)
	for _, k := range m.sectioned {
		fields = append(fields, reflect.StructField{
			Name: sectionField(k.Name),
			Type: reflect.TypeOf(k.Section()),
			Tag:  reflect.StructTag(`toml:"` + k.Name + `"`),
		})
	}
	m.expect = reflect.StructOf(fields)
	ft := reflect.TypeFor[File]()
	fields = exportedFields(ft)
	for i := range fields {
		if fields[i].Name == "Expectations" {
			fields[i].Type = reflect.SliceOf(m.expect)
		}
	}
	m.file = reflect.StructOf(fields)
	return m
}

// sectionField is the mirror's field for a section: exported, and unlike
// any of Expectation's own.
func sectionField(kind string) string { return "Section_" + kind }

func exportedFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && !f.Anonymous {
			f.Index, f.Offset = nil, 0
			out = append(out, f)
		}
	}
	return out
}

// new returns a pointer to an empty mirror, for the decoder.
func (m *decodeMirror) new() any { return reflect.New(m.file).Interface() }

// copyTo copies a decoded mirror into f.
func (m *decodeMirror) copyTo(decoded any, f *File) {
	src := reflect.ValueOf(decoded).Elem()
	dst := reflect.ValueOf(f).Elem()
	for i := range m.file.NumField() {
		name := m.file.Field(i).Name
		if name != "Expectations" {
			dst.FieldByName(name).Set(src.Field(i))
		}
	}
	es := src.FieldByName("Expectations")
	if es.IsNil() {
		return
	}
	f.Expectations = make([]Expectation, es.Len())
	for i := range es.Len() {
		se, de := es.Index(i), reflect.ValueOf(&f.Expectations[i]).Elem()
		for j := range m.expect.NumField() {
			sf := m.expect.Field(j)
			if !strings.HasPrefix(sf.Name, "Section_") {
				de.FieldByName(sf.Name).Set(se.Field(j))
			}
		}
		for _, k := range m.sectioned {
			v := se.FieldByName(sectionField(k.Name))
			if v.IsNil() {
				continue
			}
			if f.Expectations[i].Sections == nil {
				f.Expectations[i].Sections = kinds.Sections{}
			}
			f.Expectations[i].Sections[k.Name] = v.Interface().(kinds.Section)
		}
	}
}

// typeNames makes the decoder's messages name a mirror type as the type
// it mirrors.
func (m *decodeMirror) typeNames() *strings.Replacer {
	return strings.NewReplacer(m.expect.String(), "config.Expectation", m.file.String(), "config.File")
}
