// Command app is a stand-in for the API server's application, for the testbed
// only. The security document says port 3000 is "localhost only": the app
// listens on 127.0.0.1:3000 and nginx proxies 443 to it, so from outside the
// API server port 3000 is never open.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
)

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"service":"api","note":"testbed stand-in"}`)
	})
	return mux
}

func main() {
	listen := flag.String("listen", "127.0.0.1:3000", "address to listen on (keep it on loopback)")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("app stand-in listening on %s", ln.Addr())
	log.Fatal(http.Serve(ln, handler()))
}
