//go:build race

package image

// raceDetector tells tests built with -race to keep their inputs small:
// the detector makes deflate about twenty times slower.
const raceDetector = true
