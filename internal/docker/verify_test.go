package docker

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"
)

func TestVerify(t *testing.T) {
	const cfgID = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	e := newEngine(StoreClassic)
	e.add(cfgID, []string{"a", "b"}, "classic:1")
	// Podman's libpod API leaves "sha256:" out of IDs.
	e.add(strings.TrimPrefix(cfgID, "sha256:"), []string{"a", "b"}, "podman:1")
	e.add("sha256:manifest", []string{"a", "b"}, "pulled:1")
	e.add("sha256:short", []string{"a"}, "short:1")
	e.add("sha256:swapped", []string{"b", "a"}, "swapped:1")
	for _, ref := range []string{"loaded:1", "relabelled:1"} {
		e.add("sha256:"+ref[:len(ref)-2], []string{"a", "b"}, ref)
	}
	withConfig := func(ref, cfg string) {
		if _, err := e.register("x.json", []byte(cfg), []string{"a", "b"}, nil); err != nil {
			t.Fatal(err)
		}
		img := e.images["sha256:x"]
		img.ID = "sha256:" + strings.TrimSuffix(ref, ":1")
		e.images[ref], e.images[img.ID] = img, img
	}
	withConfig("loaded:1", string(configFor(cfgID)))
	withConfig("relabelled:1", string(configFor("another")))

	want := Expect{ConfigDigest: cfgID, DiffIDs: []string{"a", "b"}, Config: configFor(cfgID)}
	pulled := want
	pulled.ManifestDigest = "sha256:manifest"
	anyID := want
	anyID.AnyID = true
	for _, c := range []struct {
		ref     string
		want    Expect
		id      string
		wantErr string
	}{
		{"classic:1", want, cfgID, ""},
		{"podman:1", want, cfgID, ""},
		{"pulled:1", pulled, "sha256:manifest", ""},
		{"pulled:1", want, "", "has the ID sha256:manifest, want " + cfgID},
		{"short:1", want, "", "the engine holds 1 layers, the plan has 2 (the first 1 agree)"},
		{"swapped:1", want, "", "layer 1 of 2 is b in the engine, a in the plan"},
		{"loaded:1", want, "", "has the ID sha256:loaded"},
		{"loaded:1", anyID, "sha256:loaded", ""},
		{"relabelled:1", anyID, "", "its labels differ"},
		{"missing:1", want, "", "the engine has no image missing:1 after loading it"},
	} {
		id, err := Verify(context.Background(), e, c.ref, c.want)
		if id != c.id || (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("Verify(%s) = %q, %v; want %q, %q", c.ref, id, err, c.id, c.wantErr)
		}
	}
}

// fakeDescriber answers /version and /info as the engines here do.
type fakeDescriber struct {
	host    string
	version string // /version's body
	info    string // /info's body
}

func TestDescribe(t *testing.T) {
	docker2010 := `{"Version":"20.10.24+dfsg1","ApiVersion":"1.41","Components":[{"Name":"Engine","Version":"20.10.24+dfsg1"},{"Name":"containerd"}]}`
	docker29 := `{"Version":"29.0.0","ApiVersion":"1.52","Components":[{"Name":"Engine","Version":"29.0.0"}]}`
	podman := `{"Platform":{"Name":"linux/amd64/debian-12"},"Version":"4.3.1","ApiVersion":"1.41","Components":[{"Name":"Podman Engine","Version":"4.3.1"},{"Name":"Conmon"}]}`
	classicInfo := `{"Driver":"overlay2","DriverStatus":[["Backing Filesystem","extfs"]],"OperatingSystem":"Debian GNU/Linux 12 (bookworm)","SecurityOptions":["name=seccomp,profile=default"]}`
	snapshotterInfo := `{"Driver":"overlayfs","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]],"OperatingSystem":"Ubuntu 24.04"}`
	podmanInfo := `{"Driver":"overlay","DriverStatus":[["Backing Filesystem","extfs"]],"OperatingSystem":"debian","SecurityOptions":["name=rootless"]}`
	for _, c := range []struct {
		name           string
		d              fakeDescriber
		product        string
		store          Store
		local          bool
		remoteContains string
	}{
		{"classic", fakeDescriber{"unix:///var/run/docker.sock", docker2010, classicInfo}, "Docker", StoreClassic, true, ""},
		{"containerd store", fakeDescriber{"unix:///var/run/docker.sock", docker29, snapshotterInfo}, "Docker", StoreContainerd, true, ""},
		{"rootless Podman", fakeDescriber{"unix:///run/user/1000/podman/podman.sock", podman, podmanInfo}, "Podman", StorePodman, true, ""},
		{"over TCP", fakeDescriber{"tcp://127.0.0.1:2375", docker2010, classicInfo}, "Docker", StoreClassic, false, "tcp://"},
		{"over SSH", fakeDescriber{"ssh://me@host", podman, podmanInfo}, "Podman", StorePodman, false, "ssh://"},
		{"rootless Docker", fakeDescriber{"unix:///run/user/1000/docker.sock", docker29, `{"Driver":"overlayfs","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]],"SecurityOptions":["name=seccomp,profile=builtin","name=rootless"]}`}, "Docker", StoreContainerd, false, "network namespace"},
		{"Docker Desktop", fakeDescriber{"unix:///Users/me/.docker/run/docker.sock", docker29, `{"Driver":"overlayfs","DriverStatus":[["driver-type","io.containerd.snapshotter.v1"]],"OperatingSystem":"Docker Desktop"}`}, "Docker", StoreContainerd, false, "virtual machine"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := Describe(context.Background(), c.d)
			if err != nil {
				t.Fatal(err)
			}
			if e.Product != c.product || e.Store != c.store || e.Local != c.local || !strings.Contains(e.Remote, c.remoteContains) || e.Host != c.d.host {
				t.Errorf("Describe = %+v, want %s, %s store, local %v, remote because of %q", e, c.product, c.store, c.local, c.remoteContains)
			}
			if e.IDIsConfigDigest() != (c.store != StoreContainerd) {
				t.Errorf("IDIsConfigDigest = %v for the %s store", e.IDIsConfigDigest(), c.store)
			}
		})
	}
}

func (f fakeDescriber) DaemonHost() string { return f.host }

func (f fakeDescriber) ServerVersion(context.Context) (types.Version, error) {
	var v types.Version
	return v, json.Unmarshal([]byte(f.version), &v)
}

func (f fakeDescriber) Info(context.Context) (system.Info, error) {
	var i system.Info
	return i, json.Unmarshal([]byte(f.info), &i)
}
