package project

import (
	"fmt"
	"strings"
	"time"
)

// Nsswitch is the image's /etc/nsswitch.conf: accounts from the files,
// hosts from the files and then DNS (fakeNss-style, no daemons).
const Nsswitch = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"

// Passwd is the image's /etc/passwd: one line per user, in uid order.
// Root gets /bin/sh as its shell, every other user /sbin/nologin.
func (p *Project) Passwd() string {
	var b strings.Builder
	for _, u := range p.Users {
		shell := "/sbin/nologin"
		if u.UID == 0 {
			shell = "/bin/sh"
		}
		fmt.Fprintf(&b, "%s:x:%d:%d::%s:%s\n", u.Name, u.UID, u.GID, u.Home, shell)
	}
	return b.String()
}

// Group is the image's /etc/group: one line per group, in gid order,
// listing the users that have it as a supplementary group.
func (p *Project) Group() string {
	var b strings.Builder
	for _, g := range p.Groups {
		var members []string
		for _, u := range p.Users {
			for _, gid := range u.Groups {
				if gid == g.GID {
					members = append(members, u.Name)
				}
			}
		}
		fmt.Fprintf(&b, "%s:x:%d:%s\n", g.Name, g.GID, strings.Join(members, ","))
	}
	return b.String()
}

// Health says whether the image gets a health check, and how long it
// gives the services to come up. It gets one when some service says how
// to tell it is up (a ready block) or runs once: the init then knows
// whether every service is where it should be (docs/init.md). The start
// period is the longest readiness timeout.
func (p *Project) Health() (startPeriod time.Duration, ok bool) {
	for _, svc := range p.Spec().Services {
		if svc.Ready == nil && !svc.OneShot {
			continue
		}
		ok = true
		if svc.Ready != nil {
			startPeriod = max(startPeriod, time.Duration(svc.Ready.Timeout)*time.Second)
		}
	}
	return startPeriod, ok
}
