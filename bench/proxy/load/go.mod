module shakedown/bench/proxyload

go 1.21
