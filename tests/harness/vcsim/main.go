// Command vcsim is the fateops harness's vCenter simulator launcher.
//
// Debian packages govmomi's simulator library (golang-github-vmware-govmomi-dev) but not its vcsim
// command, so we build this small main over it in GOPATH mode. It differs from upstream vcsim in what
// the harness needs: it binds 127.0.0.1 on a port the kernel picks (no port races), takes the password
// from the environment (never argv, which every local user can read), and writes a ready file with
// the chosen address once the SOAP endpoint listens.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // REST (tags, content library) endpoints for completeness
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	user := flag.String("username", "", "login user (required)")
	readyFile := flag.String("ready-file", "", "JSON file written with host/port once listening")
	datacenters := flag.Int("dc", 1, "datacenters")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	hosts := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vms := flag.Int("vm", 2, "VMs per resource pool")
	flag.Parse()

	password := os.Getenv("VCSIM_PASSWORD")
	if *user == "" || password == "" {
		log.Fatal("vcsim: -username and the VCSIM_PASSWORD environment variable are required")
	}

	model := simulator.VPX()
	model.Datacenter = *datacenters
	model.Cluster = *clusters
	model.ClusterHost = *hosts
	model.Host = *standalone
	model.Machine = *vms
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: creating the inventory: %v", err)
	}
	defer model.Remove()

	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, password)}
	model.Service.TLS = new(tls.Config)
	server := model.Service.NewServer()
	defer server.Close()

	host, port, err := net.SplitHostPort(server.URL.Host)
	if err != nil {
		log.Fatalf("vcsim: bad server address %q: %v", server.URL.Host, err)
	}
	fmt.Printf("vcsim listening on https://%s/sdk\n", server.URL.Host)
	if *readyFile != "" {
		data, _ := json.Marshal(map[string]string{"host": host, "port": port, "path": server.URL.Path})
		tmp := *readyFile + ".tmp"
		if err := ioutil.WriteFile(tmp, data, 0o600); err != nil {
			log.Fatalf("vcsim: writing %s: %v", tmp, err)
		}
		if err := os.Rename(tmp, *readyFile); err != nil {
			log.Fatalf("vcsim: renaming %s: %v", tmp, err)
		}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	fmt.Println("vcsim stopping")
}
