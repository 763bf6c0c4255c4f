//! The runtimes under comparison, one file each. To add a runtime, add a
//! file implementing [`Peer`] and list it in [`all`].

mod fibra;
mod rayon;
mod tokio;

use crate::workloads::Peer;

/// Builds every runtime with `workers` worker threads, fibra first (the
/// report's ratios are fibra's median over each other peer's).
pub fn all(workers: usize) -> Vec<Box<dyn Peer>> {
    vec![
        Box::new(fibra::FibraPeer::new(workers)),
        Box::new(tokio::TokioPeer::new(workers)),
        Box::new(rayon::RayonPeer::new(workers)),
    ]
}

#[cfg(test)]
mod tests {
    use super::all;
    use crate::workloads::Workload;

    /// Every workload on every runtime, at sizes small enough for debug mode.
    #[test]
    fn every_peer_gets_every_workload_right() {
        let tiny = [
            Workload::SpawnInside(0),
            Workload::SpawnInside(1),
            Workload::SpawnInside(1000),
            Workload::SpawnOutside(0),
            Workload::SpawnOutside(1000),
            Workload::Fib(0),
            Workload::Fib(1),
            Workload::Fib(15),
            Workload::SkynetSpawn(1),
            Workload::SkynetSpawn(1000),
            Workload::SkynetForkJoin(1),
            Workload::SkynetForkJoin(1000),
        ];
        for workers in [1, 2] {
            for peer in all(workers) {
                for workload in tiny {
                    for _ in 0..3 {
                        if let Some(got) = workload.run(peer.as_ref()) {
                            assert_eq!(
                                got,
                                workload.expected(),
                                "{} on {}",
                                workload.label(),
                                peer.name()
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn which_peer_supports_what() {
        let peers = all(2);
        let names: Vec<&str> = peers.iter().map(|p| p.name()).collect();
        assert_eq!(names, ["fibra", "tokio", "rayon"]);
        let supports = |w: Workload| {
            peers
                .iter()
                .map(|p| w.run(p.as_ref()).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(supports(Workload::SpawnInside(10)), [true, true, true]);
        assert_eq!(supports(Workload::SpawnOutside(10)), [true, true, false]);
        assert_eq!(supports(Workload::Fib(10)), [true, false, true]);
        assert_eq!(supports(Workload::SkynetSpawn(100)), [true, true, false]);
        assert_eq!(supports(Workload::SkynetForkJoin(100)), [true, false, true]);
    }
}
