//! Tests of the fiber stack layer: pooling, slabs, guards, the overflow
//! message (in child processes), and an ignored `measure_costs` that prints
//! the numbers quoted in the module doc.

use super::guard::madvise_guards_supported;
use super::registry::REGISTRY;
use super::size::page_size;
use super::*;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

/// Set in a child process to the scenario it must run.
const CHILD_ENV: &str = "FIBRA_STACK_TEST_CHILD";

fn default_pool() -> StackPool {
    StackPool::new(StackPoolConfig::default()).unwrap()
}

fn mprotect_pool() -> StackPool {
    StackPool::new(StackPoolConfig {
        force_mprotect_guards: true,
        ..StackPoolConfig::default()
    })
    .unwrap()
}

fn maps_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// How many of this process's mappings start inside one of `stacks` (guard
/// included), so that mappings made by tests running alongside don't count.
fn maps_starting_in(stacks: &[FiberStack]) -> usize {
    use corosensei::stack::Stack;
    let mut ranges: Vec<(usize, usize)> = stacks.iter().map(|s| (s.limit().get(), s.top())).collect();
    ranges.sort_unstable();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let starts = maps
        .lines()
        .map(|line| usize::from_str_radix(line.split('-').next().unwrap(), 16).unwrap());
    starts
        .filter(|&start| {
            let after = ranges.partition_point(|&(limit, _)| limit <= start);
            after > 0 && start < ranges[after - 1].1
        })
        .count()
}

fn is_resident(page_addr: usize) -> bool {
    let mut residency = 0u8;
    // SAFETY: one page-aligned page of a mapping the test owns.
    let ret = unsafe { libc::mincore(page_addr as *mut libc::c_void, page_size(), &mut residency) };
    assert_eq!(ret, 0, "mincore: {}", std::io::Error::last_os_error());
    residency & 1 == 1
}

/// Runs `test` (a full test path) alone in a child copy of this test binary
/// with [`CHILD_ENV`] set to `scenario`.
fn run_child(test: &str, scenario: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .output()
        .unwrap()
}

fn child_scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// Recurses until the stack overflows, using about 256 bytes per level.
#[inline(never)]
fn recurse_forever(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    if black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse_forever(depth + 1).wrapping_add(frame[3])
}

/// Recurses, 512 bytes of locals per level, until a local lies below
/// `target`; returns that local's address. Frame sizes differ between debug
/// and release builds, so the depth is set by address, not by level count.
#[inline(never)]
fn descend_below(target: usize) -> usize {
    let frame = black_box([0u8; 512]);
    let here = frame.as_ptr() as usize;
    if here < target {
        return here;
    }
    descend_below(target).max(black_box(frame[1]) as usize)
}

/// The fiber layer keeps stacks in task cells, which move between threads
/// before a task starts, and builds pools before moving them to workers.
#[test]
fn stacks_and_pools_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<FiberStack>();
    assert_send::<StackPool>();
    let mut pool = default_pool();
    let stack = pool.get().unwrap();
    let (stack, mut pool) = std::thread::spawn(move || (stack, pool)).join().unwrap();
    pool.put(stack);
    assert_eq!(pool.stacks_free(), 1);
}

#[test]
fn returned_stacks_are_reused_last_in_first_out() {
    let mut pool = default_pool();
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let (top_a, top_b) = (a.top(), b.top());
    assert_ne!(top_a, top_b);
    pool.put(a);
    pool.put(b);
    assert_eq!(pool.stacks_free(), 2);
    assert_eq!(
        pool.get().unwrap().top(),
        top_b,
        "the last one returned comes back first"
    );
    assert_eq!(pool.get().unwrap().top(), top_a);
    assert_eq!(pool.stacks_out(), 2);
    assert_eq!(pool.slab_count(), 1);
}

#[test]
fn slabs_grow_on_demand_and_stacks_do_not_overlap() {
    let mut pool = default_pool();
    let stride = DEFAULT_STACK_SIZE + page_size();
    let first_slab = (4 << 20) / stride;
    let second_slab = (8 << 20) / stride;
    let count = first_slab + second_slab + 1;
    let mut stacks: Vec<FiberStack> = (0..count).map(|_| pool.get().unwrap()).collect();
    assert_eq!(pool.slab_count(), 3, "4 MiB, 8 MiB, then a third slab");
    assert_eq!(pool.stacks_out(), count);
    stacks.sort_by_key(|s| s.top());
    for pair in stacks.windows(2) {
        assert!(
            pair[0].top() + page_size() <= pair[1].bottom(),
            "a guard page between stacks"
        );
        assert_eq!(pair[0].size(), DEFAULT_STACK_SIZE);
    }
    for stack in stacks {
        pool.put(stack);
    }
    let again: Vec<FiberStack> = (0..count).map(|_| pool.get().unwrap()).collect();
    assert_eq!(pool.slab_count(), 3, "returned stacks are reused, no new slab");
    again.into_iter().for_each(|s| pool.put(s));
}

#[test]
fn stack_memory_is_usable_from_bottom_to_top() {
    let mut pool = default_pool();
    let stack = pool.get().unwrap();
    // SAFETY: both addresses lie in the usable range of a stack we hold.
    unsafe {
        assert_eq!(
            std::ptr::read_volatile(stack.bottom() as *const u64),
            0,
            "fresh memory is zeroed"
        );
        std::ptr::write_volatile(stack.bottom() as *mut u64, 1);
        std::ptr::write_volatile((stack.top() - 8) as *mut u64, 2);
    }
    pool.put(stack);
}

/// A stack lent with its top lowered (a fiber keeps its record there) has
/// the same guard and bottom, and goes back to its pool whole.
#[test]
fn a_lowered_top_keeps_the_limit_and_comes_back_whole() {
    use corosensei::stack::Stack;
    let mut pool = default_pool();
    let stack = pool.get().unwrap();
    let (top, size, limit) = (stack.top(), stack.size(), stack.limit());
    let lowered = stack.lower_top(128);
    assert_eq!((lowered.top(), lowered.size()), (top - 128, size - 128));
    assert_eq!(lowered.limit(), limit);
    let whole = lowered.raise_top(128);
    assert_eq!((whole.top(), whole.size()), (top, size));
    pool.put(whole);
    assert_eq!(pool.get().unwrap().top(), top, "the whole stack was pooled");
}

#[test]
fn coroutine_runs_and_recurses_on_a_fiber_stack() {
    let mut pool = default_pool();
    let stack = pool.get().unwrap();
    let (bottom, top) = (stack.bottom(), stack.top());
    let mut coroutine = Coroutine::with_stack(stack, |yielder, _first: usize| {
        let local = black_box(0u8);
        let target = yielder.suspend(&local as *const u8 as usize);
        descend_below(target)
    });
    let CoroutineResult::Yield(local_addr) = coroutine.resume(0) else {
        panic!("expected a yield")
    };
    assert!(
        (bottom..top).contains(&local_addr),
        "the coroutine's locals live on the fiber stack"
    );
    let CoroutineResult::Return(deepest) = coroutine.resume(top - (40 << 10)) else {
        panic!("expected a return")
    };
    assert!(
        (bottom..top - (40 << 10)).contains(&deepest),
        "recursed 40 KiB deep on the fiber stack"
    );
    pool.put(coroutine.into_stack());
    assert_eq!(pool.stacks_out(), 0);
}

/// Suspends `count` coroutines at once, each on its own pooled stack, the
/// way blocked fibers hold their stacks; each records a local's address.
fn suspend_many(pool: &mut StackPool, count: usize) -> Vec<Coroutine<(), usize, usize, FiberStack>> {
    (0..count)
        .map(|i| {
            let mut fiber =
                Coroutine::with_stack(pool.get().unwrap(), move |yielder: &Yielder<(), usize>, ()| {
                    let local = black_box(i);
                    yielder.suspend(&local as *const usize as usize);
                    local
                });
            assert!(matches!(fiber.resume(()), CoroutineResult::Yield(_)));
            fiber
        })
        .collect()
}

#[test]
fn many_suspended_fibers_each_keep_their_own_stack() {
    const FIBERS: usize = 10_000;
    let mut pool = default_pool();
    let mut fibers = suspend_many(&mut pool, FIBERS);
    assert_eq!(pool.stacks_out(), FIBERS);
    for (i, fiber) in fibers.iter_mut().enumerate().rev() {
        assert_eq!(
            fiber.resume(()),
            CoroutineResult::Return(i),
            "each resumes its own state"
        );
    }
    for fiber in fibers {
        pool.put(fiber.into_stack());
    }
    assert_eq!((pool.stacks_out(), pool.stacks_free()), (0, FIBERS));
    let again = suspend_many(&mut pool, FIBERS);
    assert_eq!(pool.stacks_free(), 0, "all reused, no new slab");
    // Shutdown with fibers still blocked: unwind each, then take its stack back.
    for mut fiber in again {
        fiber.force_unwind();
        pool.put(fiber.into_stack());
    }
    assert_eq!(pool.stacks_out(), 0);
}

#[test]
fn a_stack_that_went_deep_is_released_and_a_shallow_one_kept() {
    let mut pool = default_pool();
    let deep_probe_page = |stack: &FiberStack| stack.top() - (16 << 10) - page_size();
    let stack = pool.get().unwrap();
    let (hot_page, probe) = (stack.top() - page_size(), deep_probe_page(&stack));
    let shallow_target = stack.top() - 2 * page_size();
    let mut shallow = Coroutine::with_stack(stack, move |_: &Yielder<(), ()>, ()| {
        descend_below(shallow_target)
    });
    assert!(matches!(shallow.resume(()), CoroutineResult::Return(_)));
    let stack = shallow.into_stack();
    assert!(
        !is_resident(probe),
        "a shallow fiber did not reach the probe page"
    );
    pool.put(stack);
    assert!(is_resident(hot_page), "a shallow stack keeps its hot page");

    let stack = pool.get().unwrap();
    let deep_target = stack.top() - (40 << 10);
    let mut deep = Coroutine::with_stack(stack, move |_: &Yielder<(), ()>, ()| descend_below(deep_target));
    assert!(matches!(deep.resume(()), CoroutineResult::Return(_)));
    let stack = deep.into_stack();
    let deep_page = deep_target - page_size();
    assert!(
        is_resident(probe) && is_resident(deep_page),
        "the deep fiber touched them"
    );
    pool.put(stack);
    assert!(!is_resident(probe), "released below the hot region");
    assert!(!is_resident(deep_page));
    assert!(is_resident(hot_page), "the hot region stays");
}

#[test]
fn trim_releases_all_but_the_most_recent_free_stacks() {
    let mut pool = default_pool();
    let stacks: Vec<FiberStack> = (0..3).map(|_| pool.get().unwrap()).collect();
    let tops: Vec<usize> = stacks.iter().map(|s| s.top()).collect();
    for stack in stacks {
        // SAFETY: the top word of a stack we hold.
        unsafe { std::ptr::write_volatile((stack.top() - 8) as *mut u64, 7) };
        pool.put(stack);
    }
    pool.trim(1);
    let top_page = |top: usize| top - page_size();
    assert!(!is_resident(top_page(tops[0])) && !is_resident(top_page(tops[1])));
    assert!(
        is_resident(top_page(tops[2])),
        "the most recently returned stack is kept"
    );
}

#[test]
fn two_hundred_thousand_stacks_add_few_memory_maps() {
    let mut pool = default_pool();
    let mut stacks: Vec<FiberStack> = Vec::with_capacity(200_000);
    let (before, (rss_before, _)) = (maps_count(), memory_now());
    stacks.extend((0..200_000).map(|_| pool.get().unwrap()));
    let rss_added = memory_now().0.saturating_sub(rss_before);
    // Untouched stacks commit nothing; one page each would be 800 MB.
    assert!(
        rss_added < 64 << 20,
        "{rss_added} bytes of RSS for 200,000 untouched stacks"
    );
    if madvise_guards_supported() == Some(false) {
        eprintln!("skipped: this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+)");
        return;
    }
    let added = maps_count().saturating_sub(before);
    // At most one mapping per slab (adjacent slabs may merge); mprotect
    // guards would make about 400,000.
    let in_stacks = maps_starting_in(&stacks);
    assert!(
        in_stacks <= pool.slab_count(),
        "{in_stacks} mappings for {} slabs",
        pool.slab_count()
    );
    // Slabs hold hundreds of stacks each: about 60 slabs of 64 KiB stacks,
    // 790 of the default 1 MiB ones (at most 255 in a 256 MiB slab).
    assert!(pool.slab_count() < 1_000, "{} slabs", pool.slab_count());
    // The whole process too (slack for tests running alongside).
    assert!(added < 1_000, "{added} mappings added for 200,000 stacks");
    stacks.into_iter().for_each(|s| pool.put(s));
}

#[test]
fn mprotect_guards_work_and_cost_mappings() {
    let mut pool = mprotect_pool();
    let stacks: Vec<FiberStack> = (0..100).map(|_| pool.get().unwrap()).collect();
    // Each guard splits the slab: a PROT_NONE mapping and a read-write one
    // per stack (the last one merged with the uncarved rest of the slab).
    assert_eq!(maps_starting_in(&stacks), 200);
    for stack in &stacks {
        // SAFETY: the usable range of a stack we hold.
        unsafe { std::ptr::write_volatile(stack.bottom() as *mut u64, 1) };
    }
    stacks.into_iter().for_each(|s| pool.put(s));
}

#[test]
fn stack_sizes_are_validated_and_rounded_up() {
    assert_eq!(validate_stack_size(64 << 10).unwrap(), 64 << 10);
    assert_eq!(validate_stack_size(MIN_STACK_SIZE).unwrap(), MIN_STACK_SIZE);
    assert_eq!(validate_stack_size(MAX_STACK_SIZE).unwrap(), MAX_STACK_SIZE);
    assert_eq!(
        validate_stack_size((20 << 10) + 1).unwrap(),
        (20 << 10) + page_size()
    );
    for bad in [0, 4096, MIN_STACK_SIZE - 1, MAX_STACK_SIZE + 1, usize::MAX] {
        let err = validate_stack_size(bad).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            err.to_string()
                .contains("outside the supported 16 KiB to 1024 MiB"),
            "{err}"
        );
    }
    let err = StackPool::new(StackPoolConfig {
        stack_size: 1000,
        ..StackPoolConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("1000 bytes"), "{err}");
}

#[test]
fn a_pool_dropped_with_no_stack_out_unregisters_its_slabs() {
    let mut pool = default_pool();
    let stack = pool.get().unwrap();
    let guard_addr = stack.bottom() - 1;
    assert_eq!(REGISTRY.guard_hit(guard_addr), Some(DEFAULT_STACK_SIZE));
    pool.put(stack);
    drop(pool);
    assert_eq!(
        REGISTRY.guard_hit(guard_addr),
        None,
        "unregistered (and unmapped)"
    );
}

#[test]
fn a_pool_dropped_with_a_stack_out_keeps_its_slabs() {
    let mut pool = default_pool();
    let stack = pool.get().unwrap();
    drop(pool);
    // SAFETY: the rule under test: the stack's memory stays mapped.
    unsafe { std::ptr::write_volatile(stack.bottom() as *mut u64, 3) };
    assert_eq!(
        REGISTRY.guard_hit(stack.bottom() - 1),
        Some(DEFAULT_STACK_SIZE),
        "still registered"
    );
}

#[test]
#[should_panic(expected = "returned to another pool")]
fn a_stack_returned_to_another_pool_panics() {
    let mut first = default_pool();
    let mut second = default_pool();
    second.put(first.get().unwrap());
}

/// Child: overflows a fiber stack (with `mprotect` guards, or on a thread
/// without an alternate signal stack of its own, if asked).
fn overflow_a_fiber(scenario: &str) {
    if scenario == "no-altstack" {
        let disable = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling this thread's signal stack; std's stays mapped.
        assert_eq!(unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) }, 0);
    }
    install_overflow_handler_for_current_thread().unwrap();
    let mut pool = if scenario == "mprotect" {
        mprotect_pool()
    } else {
        default_pool()
    };
    let mut coroutine =
        Coroutine::with_stack(pool.get().unwrap(), |_: &Yielder<(), ()>, ()| recurse_forever(0));
    coroutine.resume(());
    unreachable!("the overflow aborts the process");
}

fn assert_reported_fiber_overflow(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGABRT),
        "child status {:?}: {stderr}",
        output.status
    );
    let expected = format!(
        "fatal runtime error: fiber stack overflow (fiber stack of {} KiB; raise it with Builder::stack_size)",
        DEFAULT_STACK_SIZE >> 10
    );
    assert!(stderr.contains(&expected), "child stderr: {stderr}");
}

#[test]
fn fiber_stack_overflow_aborts_with_a_clear_message() {
    const NAME: &str = "stack::tests::fiber_stack_overflow_aborts_with_a_clear_message";
    match child_scenario() {
        Some(scenario) => overflow_a_fiber(&scenario),
        None => assert_reported_fiber_overflow(&run_child(NAME, "madvise")),
    }
}

#[test]
fn fiber_stack_overflow_on_a_thread_without_a_signal_stack_is_reported() {
    const NAME: &str = "stack::tests::fiber_stack_overflow_on_a_thread_without_a_signal_stack_is_reported";
    match child_scenario() {
        Some(scenario) => overflow_a_fiber(&scenario),
        None => assert_reported_fiber_overflow(&run_child(NAME, "no-altstack")),
    }
}

#[test]
fn fiber_stack_overflow_with_mprotect_guards_aborts_with_a_clear_message() {
    const NAME: &str = "stack::tests::fiber_stack_overflow_with_mprotect_guards_aborts_with_a_clear_message";
    match child_scenario() {
        Some(scenario) => overflow_a_fiber(&scenario),
        None => assert_reported_fiber_overflow(&run_child(NAME, "mprotect")),
    }
}

#[test]
fn other_faults_are_passed_on_to_the_previous_handler() {
    const NAME: &str = "stack::tests::other_faults_are_passed_on_to_the_previous_handler";
    match child_scenario().as_deref() {
        Some("thread-overflow") => {
            // A plain thread overflowing its own stack: std's handler reports it.
            let thread = std::thread::Builder::new().stack_size(256 << 10).spawn(|| {
                install_overflow_handler_for_current_thread().unwrap();
                recurse_forever(0)
            });
            let _ = thread.unwrap().join();
            unreachable!("std aborts on a thread stack overflow");
        }
        Some(_) => {
            install_overflow_handler_for_current_thread().unwrap();
            // A fault on a page that is not a fiber guard.
            // SAFETY: a fresh PROT_NONE mapping; the read is meant to fault.
            unsafe {
                let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
                let page = libc::mmap(std::ptr::null_mut(), page_size(), libc::PROT_NONE, flags, -1, 0);
                assert_ne!(page, libc::MAP_FAILED);
                std::ptr::read_volatile(page as *const u8);
            }
            unreachable!("the read faults");
        }
        None => {
            let segv = run_child(NAME, "segv");
            let stderr = String::from_utf8_lossy(&segv.stderr);
            assert_eq!(
                segv.status.signal(),
                Some(libc::SIGSEGV),
                "{:?}: {stderr}",
                segv.status
            );
            assert!(!stderr.contains("fiber stack overflow"), "{stderr}");

            let thread = run_child(NAME, "thread-overflow");
            let stderr = String::from_utf8_lossy(&thread.stderr);
            assert_eq!(
                thread.status.signal(),
                Some(libc::SIGABRT),
                "{:?}: {stderr}",
                thread.status
            );
            assert!(
                stderr.contains("has overflowed its stack"),
                "std's message: {stderr}"
            );
            assert!(!stderr.contains("fiber stack overflow"), "{stderr}");
        }
    }
}

/// Child: gets mprotect-guarded stacks until the map count runs out.
fn exhaust_maps_with_stacks() -> (usize, std::io::Error) {
    let mut pool = mprotect_pool();
    let mut stacks = Vec::new();
    let err = loop {
        match pool.get() {
            Ok(stack) => stacks.push(stack),
            Err(err) => break err,
        }
    };
    let count = stacks.len();
    stacks.into_iter().for_each(|s| pool.put(s));
    (count, err)
}

/// Child: splits an unrelated mapping until the map count runs out, then
/// asks a fresh pool (whatever its guards) for a stack, so its slab's `mmap`
/// is what fails.
fn exhaust_maps_then_get_a_slab() -> (usize, std::io::Error) {
    let page = page_size();
    let pages = 2 * super::guard::max_map_count().unwrap() as usize;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    // SAFETY: a fresh mapping; splitting it with mprotect touches nothing else.
    let (base, splits) = unsafe {
        let base = libc::mmap(std::ptr::null_mut(), pages * page, libc::PROT_READ, flags, -1, 0);
        assert_ne!(base, libc::MAP_FAILED);
        let splits = (0..pages)
            .step_by(2)
            .take_while(|i| {
                libc::mprotect(base.cast::<u8>().add(i * page).cast(), page, libc::PROT_NONE) == 0
            })
            .count();
        (base, splits)
    };
    // mmap still succeeds once at the limit where mprotect fails (the kernel
    // checks `>` there and `>=` here): take that last one too.
    // SAFETY: a fresh one-page mapping.
    let last = unsafe { libc::mmap(std::ptr::null_mut(), page, libc::PROT_NONE, flags, -1, 0) };
    let err = default_pool().get().unwrap_err();
    // SAFETY: unmapping the mappings made above, used by nothing else.
    unsafe {
        libc::munmap(base, pages * page);
        if last != libc::MAP_FAILED {
            libc::munmap(last, page);
        }
    }
    (splits, err)
}

#[test]
fn running_out_of_maps_is_reported_with_the_limit() {
    const NAME: &str = "stack::tests::running_out_of_maps_is_reported_with_the_limit";
    if let Some(scenario) = child_scenario() {
        // Exhausts this (child) process's memory maps, then frees them.
        let (count, err) = match scenario.as_str() {
            "guards" => exhaust_maps_with_stacks(),
            _ => exhaust_maps_then_get_a_slab(),
        };
        let limit = super::guard::max_map_count().unwrap();
        assert!(count < limit as usize, "{count} before the error");
        assert_eq!(err.kind(), std::io::ErrorKind::OutOfMemory);
        assert!(
            err.to_string().contains(&format!("vm.max_map_count = {limit}")),
            "{err}"
        );
        println!("child {scenario}: error after {count}: {err}");
        return;
    }
    for scenario in ["guards", "slab"] {
        let output = run_child(NAME, scenario);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "child {scenario} failed: {stdout}{stderr}"
        );
        assert!(
            stdout.contains(&format!("child {scenario}: error after")),
            "{stdout}"
        );
    }
}

/// Resident and page-table memory of this process, in bytes.
fn memory_now() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib = |key: &str| -> usize {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() << 10
    };
    (kib("VmRSS:"), kib("VmPTE:"))
}

fn nanos_per(iterations: usize, run: impl FnOnce()) -> f64 {
    let start = std::time::Instant::now();
    run();
    start.elapsed().as_nanos() as f64 / iterations as f64
}

/// Prints the costs quoted in the module doc. Run alone, in release:
/// `cargo test --release -p fibra --lib stack::tests::measure_costs -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a test: prints numbers"]
fn measure_costs() {
    const ROUNDS: usize = 1_000_000;
    let mut pool = default_pool();
    let get_put = |pool: &mut StackPool| {
        let stack = black_box(pool.get().unwrap());
        pool.put(stack);
    };
    get_put(&mut pool);
    let hot = nanos_per(ROUNDS, || (0..ROUNDS).for_each(|_| get_put(&mut pool)));
    println!("get+put of a pooled stack (hot, with the depth check): {hot:.1} ns");

    let config = StackPoolConfig {
        hot_bytes: DEFAULT_STACK_SIZE,
        ..StackPoolConfig::default()
    };
    let mut unchecked = StackPool::new(config).unwrap();
    get_put(&mut unchecked);
    let bare = nanos_per(ROUNDS, || (0..ROUNDS).for_each(|_| get_put(&mut unchecked)));
    println!("get+put of a pooled stack (hot, no depth check): {bare:.1} ns");

    const SLABS: usize = 1_000;
    let mut pools: Vec<StackPool> = (0..SLABS).map(|_| default_pool()).collect();
    let mut first = Vec::with_capacity(SLABS);
    let slab = nanos_per(SLABS, || {
        pools.iter_mut().for_each(|p| first.push(p.get().unwrap()))
    });
    println!(
        "first get from a new pool (mmap a 4 MiB slab, register, one guard): {:.1} us",
        slab / 1e3
    );
    first.into_iter().zip(&mut pools).for_each(|(s, p)| p.put(s));
    drop(pools);

    const STACKS: usize = 100_000;
    let mut pool = default_pool();
    let mut stacks = Vec::with_capacity(STACKS);
    // Commit the vector's own memory first, so RSS deltas are the stacks'.
    for slot in stacks.spare_capacity_mut() {
        // SAFETY: spare capacity may hold any bytes; `push` overwrites them.
        unsafe { std::ptr::write_bytes(slot.as_mut_ptr(), black_box(0xa5), 1) };
    }
    let (rss0, pte0) = memory_now();
    let carve = nanos_per(STACKS, || {
        (0..STACKS).for_each(|_| stacks.push(pool.get().unwrap()))
    });
    let (rss1, pte1) = memory_now();
    println!(
        "new stacks ({} slabs): {carve:.0} ns each; untouched: {:.0} B RSS + {:.0} B page tables each",
        pool.slab_count(),
        (rss1.saturating_sub(rss0)) as f64 / STACKS as f64,
        (pte1.saturating_sub(pte0)) as f64 / STACKS as f64
    );
    for stack in &stacks {
        // SAFETY: the top word of a stack we hold.
        unsafe { std::ptr::write_volatile((stack.top() - 8) as *mut u64, 1) };
    }
    let (rss2, pte2) = memory_now();
    println!(
        "one page touched: {:.0} B RSS + {:.0} B page tables per stack (over untouched)",
        (rss2.saturating_sub(rss1)) as f64 / STACKS as f64,
        (pte2.saturating_sub(pte1)) as f64 / STACKS as f64
    );
    let mincore = nanos_per(STACKS, || {
        stacks
            .iter()
            .for_each(|s| assert!(is_resident(s.top() - page_size())))
    });
    println!("mincore of one page (the rejected exact depth check): {mincore:.0} ns");
    let put = nanos_per(STACKS, || stacks.drain(..).for_each(|s| pool.put(s)));
    println!(
        "put of a stack touched one page (first put: probe page read faults in the zero page): {put:.0} ns"
    );

    drop(pool);

    let mut pool = default_pool();
    let rss_before = memory_now().0;
    let fibers = suspend_many(&mut pool, STACKS);
    let rss_per_fiber = memory_now().0.saturating_sub(rss_before) as f64 / STACKS as f64;
    println!("a suspended coroutine on a pooled stack: {rss_per_fiber:.0} B RSS (its stack pages and the Vec entry)");
    for mut fiber in fibers {
        assert!(matches!(fiber.resume(()), CoroutineResult::Return(_)));
        pool.put(fiber.into_stack());
    }

    const DEEP: usize = 10_000;
    let mut deep: Vec<FiberStack> = (0..DEEP).map(|_| pool.get().unwrap()).collect();
    for stack in &deep {
        // SAFETY: the lowest word and a probe page word of a stack we hold,
        // as a fiber that went deep would leave them.
        unsafe {
            std::ptr::write_volatile(stack.bottom() as *mut u64, 1);
            std::ptr::write_volatile((stack.top() - (16 << 10) - 8) as *mut u64, 1);
        }
    }
    let put_deep = nanos_per(DEEP, || deep.drain(..).for_each(|s| pool.put(s)));
    println!(
        "put of a stack that went deep (probe + MADV_DONTNEED of {} KiB, 2 pages touched): {put_deep:.0} ns",
        (DEFAULT_STACK_SIZE - (16 << 10)) >> 10
    );
}

fn current_alt_stack() -> libc::stack_t {
    // SAFETY: an all-zero `stack_t` is a valid out-parameter; a null new
    // stack only reads the current one.
    unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        assert_eq!(libc::sigaltstack(std::ptr::null(), &mut current), 0);
        current
    }
}

#[test]
fn the_handler_keeps_std_signal_stacks_and_adds_one_where_missing() {
    std::thread::spawn(|| {
        let std_stack = current_alt_stack();
        assert_eq!(
            std_stack.ss_flags & libc::SS_DISABLE,
            0,
            "std gives its threads a signal stack"
        );
        install_overflow_handler_for_current_thread().unwrap();
        assert_eq!(
            current_alt_stack().ss_sp,
            std_stack.ss_sp,
            "std's signal stack is kept"
        );
    })
    .join()
    .unwrap();
    std::thread::spawn(|| {
        let disable = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling this thread's signal stack; std's stays mapped.
        assert_eq!(unsafe { libc::sigaltstack(&disable, std::ptr::null_mut()) }, 0);
        install_overflow_handler_for_current_thread().unwrap();
        let own = current_alt_stack();
        assert_eq!(own.ss_flags & libc::SS_DISABLE, 0, "a signal stack was installed");
        assert_eq!(own.ss_size, 64 << 10);
    })
    .join()
    .unwrap();
}
