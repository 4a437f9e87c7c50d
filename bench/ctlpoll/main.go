// Command ctlpoll measures how fast a running nix-docker-init answers
// `ctl status`: it asks over the control socket every 10 ms until a file
// appears and for one second more, and prints the number of answers and
// the median and largest time to an answer in milliseconds. bench/init.sh
// uses it so that neither starting a ctl process nor `docker exec` is
// timed.
//
// usage: ctlpoll SOCKET UNTIL_FILE
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ctlpoll SOCKET UNTIL_FILE")
		os.Exit(2)
	}
	sock, until := os.Args[1], os.Args[2]
	var lat []time.Duration
	var end time.Time
	for end.IsZero() || time.Now().Before(end) {
		begin := time.Now()
		if err := status(sock); err != nil {
			fmt.Fprintf(os.Stderr, "ctlpoll: %v\n", err)
			os.Exit(1)
		}
		lat = append(lat, time.Since(begin))
		if _, err := os.Stat(until); err == nil && end.IsZero() {
			end = time.Now().Add(time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Printf("%d %.1f %.1f\n", len(lat), ms(lat[len(lat)/2]), ms(lat[len(lat)-1]))
}

// status sends one status request, as `nix-docker-init ctl status` does,
// and reads the reply.
func status(sock string) error {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(c).Encode(map[string]string{"op": "status"}); err != nil {
		return err
	}
	var rep struct{ Output, Error string }
	if err := json.NewDecoder(c).Decode(&rep); err != nil {
		return err
	}
	if rep.Error != "" {
		return fmt.Errorf("status: %s", rep.Error)
	}
	return nil
}
