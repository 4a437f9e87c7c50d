package output

import "strings"

// NormalTag adds ":latest" to an image name without a tag.
func NormalTag(tag string) string {
	if i := strings.LastIndex(tag, ":"); i < 0 || strings.Contains(tag[i:], "/") {
		return tag + ":latest"
	}
	return tag
}

// Repository is an image name without its ":TAG" part.
func Repository(tag string) string {
	t := NormalTag(tag)
	return t[:strings.LastIndex(t, ":")]
}

// tagPart is a reference's TAG part ("latest" when it has none, or for
// "").
func tagPart(tag string) string {
	if tag == "" {
		return "latest"
	}
	t := NormalTag(tag)
	return t[strings.LastIndex(t, ":")+1:]
}
