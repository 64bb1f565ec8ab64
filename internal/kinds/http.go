package kinds

// HTTPSection is [expectation.http]: options and assertions of the http probe.
type HTTPSection struct{}

func (s *HTTPSection) validate() []FieldError { return nil }

func init() {
	register(&Kind{Name: "http", Transports: []string{"tcp"}, Sections: []string{"http"}})
}
