module fibra-bench-go

go 1.21
