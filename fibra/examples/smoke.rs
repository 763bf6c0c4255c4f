fn main() {
    let rt = fibra::Runtime::builder().workers(2).build().unwrap();
    for n in [10_000usize, 100_000, 1_000_000] {
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let sum: usize = rt.block_on(|| {
                let hs: Vec<_> = (0..n).map(|i| fibra::spawn(move || i)).collect();
                hs.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(sum, n * (n - 1) / 2);
            let inside = t.elapsed();
            let t = std::time::Instant::now();
            let hs: Vec<_> = (0..n).map(|i| rt.spawn(move || i)).collect();
            let sum: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, n * (n - 1) / 2);
            let outside = t.elapsed();
            println!("n={n} inside {:.1} ns/task outside {:.1} ns/task", inside.as_nanos() as f64 / n as f64, outside.as_nanos() as f64 / n as f64);
        }
    }
    fn fib(n: u64) -> u64 { if n < 2 { return n } let (a, b) = fibra::join(|| fib(n - 1), || fib(n - 2)); a + b }
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let r = rt.block_on(|| fib(27));
        println!("fib(27)={r} in {:?}", t.elapsed());
    }
    println!("{:?}", rt.metrics());
}
