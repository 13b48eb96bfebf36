import DaxPinCore
import SystemPackage
import Testing

@testable import DaxPinFake

func resolve(_ fake: FakeKernel, _ request: ProbeRequest = ProbeRequest(), inventory: ((inout Inventory) -> Void)? = nil) throws(ProbeProblem)
  -> ProbeTargets
{
  var inv = FakeHost(fake).inventory()
  inventory?(&inv)
  return try TargetResolver(kernel: fake, inventory: inv, request: request).resolve()
}

/// The problem `body` threw, nil when it threw none (any other error fails the test).
func problem(_ body: () throws -> Void) -> ProbeProblem? {
  do { try body() } catch let e as ProbeProblem { return e } catch { Issue.record("not a ProbeProblem: \(error)") }
  return nil
}

@Suite("the one pipeline: targets are resolved once, through the seam")
struct TargetResolutionTests {
  let fake = FakeKernel(profile: .linux6_1)

  @Test func fromTheInventoryDerivedFromTheFakesState() throws {
    let t = try resolve(fake)
    #expect(t.fsdaxDirectories == ["ext4": "/mnt/fsdax-ext4", "xfs": "/mnt/fsdax-xfs"])
    #expect(t.devdax == DevdaxTarget(path: "/dev/dax0.0", align: 2 << 20))
    #expect(t.vfioGroup == VFIOGroupTarget(id: 1, node: "/dev/vfio/1", deviceAddress: LabLayout.standard.vfioDevice))
    #expect(t.pagecacheDirectory == "/var/tmp")
    #expect(t.tmpfsDirectory == "/dev/shm")
    #expect(t.hugetlbFree2M == 16)
    #expect(t.scratchParents == ["/var/tmp", "/dev/shm", "/mnt/fsdax-ext4", "/mnt/fsdax-xfs"])
  }

  @Test func namedObjectsOverride() throws {
    let t = try resolve(fake, ProbeRequest(pagecacheDirectory: "/mnt/pagecache", fsdaxDirectories: ["/mnt/fsdax-xfs"], devdax: "/dev/dax0.0", vfioGroup: 12))
    #expect(t.pagecacheDirectory == "/mnt/pagecache")
    #expect(t.fsdaxDirectories == ["xfs": "/mnt/fsdax-xfs"])
    #expect(t.devdax == DevdaxTarget(path: "/dev/dax0.0", align: 2 << 20))
    #expect(t.vfioGroup == VFIOGroupTarget(id: 12, node: "/dev/vfio/12"), "an explicit group not in /dev/vfio is still tried, and fails with a clear error")
  }

  @Test func devdaxMustBeDeviceDAX() {
    #expect(problem { _ = try resolve(fake, ProbeRequest(devdax: "/dev/zero")) } == .target(
      "--devdax /dev/zero is character device 1:5 of the mem subsystem, not device-DAX: name a /dev/daxX.Y (ndctl create-namespace -m devdax)"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(devdax: "/dev/vfio/vfio")) } == .target(
      "--devdax /dev/vfio/vfio is character device 10:196 of the misc subsystem, not device-DAX: name a /dev/daxX.Y (ndctl create-namespace -m devdax)"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(devdax: "/var/tmp")) } == .target("--devdax /var/tmp is a directory, not a device-DAX character device"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(devdax: "/dev/dax9.9")) } == .target("--devdax /dev/dax9.9: ENOENT"))
  }

  @Test func pagecacheMustBeADiskBackedDirectory() {
    #expect(problem { _ = try resolve(fake, ProbeRequest(pagecacheDirectory: "/proc")) } == .target(
      "--pagecache-dir /proc is on proc, not a disk-backed filesystem: name a directory on ext4, xfs or btrfs on a block device"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(pagecacheDirectory: "/dev/shm")) } == .target(
      "--pagecache-dir /dev/shm is on tmpfs, not a disk-backed filesystem: name a directory on ext4, xfs or btrfs on a block device"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(pagecacheDirectory: "/dev/null")) } == .target("--pagecache-dir /dev/null is a character device, not a directory"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(pagecacheDirectory: "/nope")) } == .target("--pagecache-dir /nope: ENOENT"))
  }

  @Test func fsdaxDirectoriesAreCheckedUpFrontOnePerFilesystem() {
    #expect(problem { _ = try resolve(fake, ProbeRequest(fsdaxDirectories: ["/mnt/fsdax-ext4", "/mnt/fsdax-ext4"])) } == nil, "the same directory twice is one")
    #expect(problem { _ = try resolve(fake, ProbeRequest(fsdaxDirectories: ["/var/tmp", "/tmp"])) } == .usage(
      "--fsdax-dir /var/tmp and /tmp are on the same filesystem (device 254:0): name one directory per filesystem"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(fsdaxDirectories: ["/mnt/fsdax-ext4", "/var/tmp"])) } == .usage(
      "--fsdax-dir /mnt/fsdax-ext4 and /var/tmp are both ext4: name at most one ext4 and one xfs directory"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(fsdaxDirectories: ["/dev/shm"])) } == .target("--fsdax-dir /dev/shm is on tmpfs, not ext4 or xfs"))
    #expect(problem { _ = try resolve(fake, ProbeRequest(fsdaxDirectories: ["/dev/dax0.0"])) } == .target("--fsdax-dir /dev/dax0.0 is a character device, not a directory"))
    #expect(ProbeProblem.usage("x").exitCode == 64)
    #expect(ProbeProblem.target("x").exitCode == 2)
  }

  @Test func mdevOnlyAndNoiommuGroupsAreMarked() throws {
    let mdev = try resolve(fake) { inv in
      inv.iommu.groups[0].devices = [IOMMUGroupDevice(address: "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", bus: "mdev", driver: "vfio_mdev")]
    }
    #expect(mdev.vfioGroup?.mdevOnly == true)
    let noiommu = try resolve(fake) { inv in inv.vfio.groups = [VFIOGroupNode(id: 0, node: "/dev/vfio/noiommu-0", noiommu: true)] }
    #expect(noiommu.vfioGroup == VFIOGroupTarget(id: 0, node: "/dev/vfio/noiommu-0", noiommu: true))
  }

  @Test func repeatedOptionsRunEachCellOnce() throws {
    let request = ProbeRequest(interfaces: [.ioUring, .vfioType1v2, .ioUring], kinds: [.anon, .anon, .memfd], accesses: [.ro, .rw, .ro])
    #expect(request.interfaces == [.vfioType1v2, .ioUring])
    #expect(request.kinds == [.anon, .memfd])
    #expect(request.accesses == [.rw, .ro])
    let report = fakeReport(FakeKernel(profile: .linux6_1), request)
    #expect(report.probes.map(\.id) == [
      "vfio-type1v2.anon.rw", "vfio-type1v2.anon.ro", "vfio-type1v2.memfd.rw", "vfio-type1v2.memfd.ro",
      "io_uring.anon.rw", "io_uring.anon.ro", "io_uring.memfd.rw", "io_uring.memfd.ro",
    ])
  }
}

@Suite("the run's private directories and the leftovers of dead runs")
struct ScratchTests {
  @Test func filesAreMadeInAPrivateDirectoryWithAnOwnerRecordAndAllRemoved() throws {
    let fake = FakeKernel(profile: .linux6_1)
    let recorder = RecordingKernel(fake)
    var seen: [String] = []
    var run = ProbeRun(host: FakeHost(fake, kernel: recorder), request: ProbeRequest(interfaces: [.ioUring], kinds: [.pagecacheShared]))
    run.onResult = { _ in seen = fake.files(under: "/var/tmp") }
    let report = try run.run()
    #expect(report.probes.first?.memory.path?.hasPrefix("/var/tmp/.daxpin-") == true)
    #expect(seen.count == 1, "only the directory remains between cells: \(seen)")
    #expect(seen.first?.hasPrefix("/var/tmp/.daxpin-4242-1000-") == true, "its name records the run")
    #expect(recorder.trace.contains(.makeDirectory))
    #expect(fake.files(under: "/var/tmp") == [])
    #expect(recorder.held == .nothing)
  }

  @Test func deadRunsAreSweptLiveOnesAndOthersAreKept() throws {
    let fake = FakeKernel(profile: .linux6_1)
    let dead = fake.leaveRunDirectory("dead0001", in: "/dev/shm", pid: 77, startTime: 5, alive: false)
    let live = fake.leaveRunDirectory("live0001", in: "/dev/shm", pid: 78, startTime: 6, alive: true)
    // pid 79 lives, but started later than the run that left this: the pid was reused.
    let reused = fake.leaveRunDirectory("reus0001", in: "/var/tmp", pid: 79, startTime: 7, alive: false)
    fake.state.withLock { $0.otherProcesses[79] = 900 }
    let other = fake.leaveRunDirectory("user0001", in: "/dev/shm", pid: 80, startTime: 8, alive: false, owner: 1000)
    var notices: [String] = []
    var run = ProbeRun(host: FakeHost(fake), request: ProbeRequest(interfaces: [.ioUring], kinds: [.anon]))
    run.onNotice = { notices.append($0) }
    _ = try run.run()
    #expect(notices == [
      "removed \(reused) (1 file), left by daxpin run 79 that no longer lives",
      "removed \(dead) (1 file), left by daxpin run 77 that no longer lives",
    ])
    #expect(fake.files(under: "/dev/shm").filter { !$0.contains("/", after: "/dev/shm/") } == [live, other])
    #expect(fake.files(under: "/var/tmp") == [])
  }
}

extension String {
  /// Contains `c` after the prefix `p` (a path deeper than one level).
  func contains(_ c: Character, after p: String) -> Bool { hasPrefix(p) && dropFirst(p.count).contains(c) }
}

@Suite("dax=inode mounts, io_uring limits")
struct MountAndLimitTests {
  @Test func daxInodeMountsGetThePerFileFlagAndGiveRealCells() {
    let always = fakeReport(FakeKernel(profile: .linux6_12))
    let inode = fakeReport(FakeKernel(profile: .linux6_12, fsdaxMount: .inode))
    #expect(inode.summary.error == 0)
    for p in always.probes where p.memory.kind.isFilesystemDAX {
      let q = inode.probes.first { $0.id == p.id }!
      #expect(q.outcome == p.outcome && q.errno == p.errno, "\(p.id)")
    }
    #expect(inode.probes.first { $0.id == "vfio-type1v2.fsdax-xfs-shared.rw" }?.errnoName == "EOPNOTSUPP")
  }

  @Test func daxInodeOnADeviceWithoutDAXIsASkipWithAReasonNeverAnError() {
    let r = fakeReport(FakeKernel(profile: .linux6_12, fsdaxMount: .inodeWithoutDAXDevice))
    #expect(r.summary.error == 0)
    let fsdax = r.probes.filter { $0.memory.kind.isFilesystemDAX && $0.interface == .ioUring }
    #expect(fsdax.count == 12)
    for p in fsdax {
      #expect(p.outcome == .unsupported)
      #expect(p.reason?.hasSuffix("although FS_XFLAG_DAX is set on daxpin's directory: the filesystem is not mounted with dax=always or dax=inode, or its block device does not support DAX") == true)
    }
  }

  @Test func ioUringSetupErrnosSayWhatToDo() {
    func cell(_ e: Errno) -> ProbeResult {
      let fake = FakeKernel(profile: .linux6_12)
      let recorder = RecordingKernel(fake)
      recorder.inject(.ioUringSetup, onUse: 1, errno: e)
      let r = try! ProbeRun(host: FakeHost(fake, kernel: recorder), request: ProbeRequest(interfaces: [.ioUring], kinds: [.anon], accesses: [.rw])).run()
      return r.probes[0]
    }
    let enomem = cell(.noMemory)
    #expect(enomem.outcome == .resourceLimited)
    #expect(enomem.reason == "io_uring_setup: ENOMEM: the ring does not fit under RLIMIT_MEMLOCK")
    #expect(enomem.hint == "ulimit -l unlimited, or run with CAP_IPC_LOCK")
    #expect(cell(.noFunction).reason == "io_uring_setup: ENOSYS: this kernel has no io_uring")
    #expect(cell(.notPermitted).hint == "sysctl kernel.io_uring_disabled=0")
    #expect(cell(.tooManyOpenFiles).outcome == .resourceLimited)
  }

  @Test func emfileReadingSmapsIsReportedAsEMFILE() {
    let fake = FakeKernel(profile: .linux6_12)
    let recorder = RecordingKernel(fake)
    recorder.inject(.vma, onUse: 1, errno: .tooManyOpenFiles)
    let r = try! ProbeRun(host: FakeHost(fake, kernel: recorder), request: ProbeRequest(interfaces: [.ioUring], kinds: [.anon], accesses: [.rw])).run()
    #expect(r.probes[0].errnoName == "EMFILE")
    #expect(r.probes[0].reason == "reading smaps: EMFILE")
  }

  @Test func anInterruptIsAProblemNamingTheSignal() {
    let fake = FakeKernel(profile: .linux6_1)
    let recorder = RecordingKernel(fake)
    let request = ProbeRequest(interfaces: [.ioUring], interruptAfter: 3)
    #expect(problem { _ = try ProbeRun(host: FakeHost(fake, kernel: recorder), request: request).run() } == .interrupted(signal: 2, completed: 3))
    #expect(ProbeProblem.interrupted(signal: 2, completed: 3).exitCode == 130)
    #expect(recorder.held == .nothing)
    #expect(fake.files(under: "").filter { $0.contains("/.daxpin-") } == [])
  }
}
