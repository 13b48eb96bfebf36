import DaxPinCore
import Foundation
import Testing

/// What an adversarial run as root found, each pinned down end to end on this machine's kernel.
/// In the serialized probe suite: a probe running beside another would see its private directory.
extension ProbeCommandTests {
  @Test(.enabled(if: isRoot, "probe needs root"))
  func devZeroIsNotDeviceDAX() throws {
    let r = try Run.daxpin(["probe", "--devdax", "/dev/zero", "--interface", "vfio-type1v2", "--kind", "devdax"])
    #expect(r.status == 2)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr == "daxpin: --devdax /dev/zero is character device 1:5 of the mem subsystem, not device-DAX: name a /dev/daxX.Y (ndctl create-namespace -m devdax)\n")
  }

  /// An empty --devdax is no path at all. statx(2) of "" used to look at the working directory
  /// (AT_EMPTY_PATH), and the line said `--devdax  is not a character device, not a device-DAX
  /// character device`.
  @Test(.enabled(if: isRoot, "probe needs root"))
  func emptyDevdaxIsENOENT() throws {
    let r = try Run.daxpin(["probe", "--devdax", "", "--interface", "io_uring", "--kind", "devdax"])
    #expect(r.status == 2)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr == "daxpin: --devdax : ENOENT\n")
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func pseudoFilesystemsAreNoPageCacheAndNothingIsCreatedThere() throws {
    // A cgroup mount (v2 or v1, whichever this machine has): a directory made there is a cgroup.
    let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n")
    let cgroup = try #require(mounts.lazy.compactMap { line -> (String, String)? in
      let f = line.split(separator: " ")
      guard let dash = f.firstIndex(of: "-"), f[dash + 1] == "cgroup2" || f[dash + 1] == "cgroup" else { return nil }
      return (String(f[4]), String(f[dash + 1]))
    }.first)
    let before = try FileManager.default.contentsOfDirectory(atPath: cgroup.0)
    let cg = try Run.daxpin(["probe", "--pagecache-dir", cgroup.0, "--interface", "io_uring"])
    #expect(cg.status == 2)
    #expect(cg.stderr == "daxpin: --pagecache-dir \(cgroup.0) is on \(cgroup.1), not a disk-backed filesystem: name a directory on ext4, xfs or btrfs on a block device\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: cgroup.0) == before, "no cgroup was made")
    let proc = try Run.daxpin(["probe", "--pagecache-dir", "/proc", "--interface", "io_uring"])
    #expect(proc.status == 2)
    #expect(proc.stderr == "daxpin: --pagecache-dir /proc is on proc, not a disk-backed filesystem: name a directory on ext4, xfs or btrfs on a block device\n")
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func fsdaxDirIsCheckedUpFront() throws {
    let dir = NSTemporaryDirectory() + "daxpin-fsdaxdir-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(mkfifo(dir + "/fifo", 0o600) == 0)
    try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "/var/tmp")
    let fifo = try Run.daxpin(["probe", "--fsdax-dir", dir + "/fifo"])
    #expect(fifo.status == 2)
    #expect(fifo.stderr == "daxpin: --fsdax-dir \(dir)/fifo is a FIFO, not a directory\n")
    let link = try Run.daxpin(["probe", "--fsdax-dir", dir + "/link"])
    #expect(link.status == 2)
    #expect(link.stderr == "daxpin: --fsdax-dir \(dir)/link is a symbolic link: name the directory it points to\n")
    let twice = try Run.daxpin(["probe", "--fsdax-dir", "/var/tmp", "--fsdax-dir", "/var"])
    #expect(twice.status == 64)
    #expect(twice.stderr.hasPrefix("daxpin: --fsdax-dir /var/tmp and /var are on the same filesystem (device "))
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["fifo", "link"])
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func repeatedOptionsRunEachProbeOnce() throws {
    let r = try Run.daxpin([
      "probe", "--json", "--interface", "io_uring", "--interface", "io_uring", "--kind", "anon", "--kind", "anon", "--access", "rw",
      "--access", "rw",
    ])
    let report = try ReportJSON.decode(Report.self, from: r.stdout)
    #expect(report.probes.map(\.id) == ["io_uring.anon.rw"])
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func leftoversOfDeadRunsAreRemovedLiveOnesKept() throws {
    let fm = FileManager.default
    func leave(_ suffix: String, pid: Int32, start: UInt64, owner: uid_t = 0) throws -> String {
      let dir = "/dev/shm/.daxpin-\(pid)-\(start)-\(suffix)"
      try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
      #expect(fm.createFile(atPath: "\(dir)/anon-1", contents: Data(count: 2 << 20)))
      if owner != 0 { _ = chown(dir, owner, owner) }
      return dir
    }
    // A pid that no longer lives: a child that has exited and been reaped.
    let gone = Process()
    gone.executableURL = URL(fileURLWithPath: "/bin/true")
    try gone.run()
    gone.waitUntilExit()
    let dead = try leave("deadtest", pid: gone.processIdentifier, start: 1)
    // This test process lives: its real start time is in /proc/self/stat.
    let stat = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
    let start = UInt64(stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(separator: " ")[19])!
    let live = try leave("livetest", pid: getpid(), start: start)
    let other = try leave("usertest", pid: gone.processIdentifier, start: 1, owner: 65534)
    defer { for d in [dead, live, other] { try? fm.removeItem(atPath: d) } }

    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "tmpfs-shared", "--access", "rw"])
    #expect(r.status == 0)
    #expect(r.stderr == "daxpin: removed \(dead) (1 file), left by daxpin run \(gone.processIdentifier) that no longer lives\n")
    #expect(!fm.fileExists(atPath: dead))
    #expect(fm.fileExists(atPath: live + "/anon-1"), "a live run's directory is never touched")
    #expect(fm.fileExists(atPath: other + "/anon-1"), "another user's directory is never touched")
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func aRunKilledBySIGKILLIsCleanedUpByTheNext() throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Run.executable)
    p.arguments = ["probe", "--interface", "io_uring", "--interface", "vfio-type1", "--json"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    // Until the run has made its private directory (or ended): no fixed count of polls, which a
    // loaded machine could outlast before the run gets that far.
    var seen: [String] = []
    let deadline = Date().addingTimeInterval(120)
    while seen.isEmpty && p.isRunning && Date() < deadline {
      seen = cliLeftovers()
      if seen.isEmpty { usleep(200) }
    }
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    try #require(!seen.isEmpty, "the run's private directory was never seen")
    let left = cliLeftovers()
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "anon"])
    #expect(r.status == 0)
    for d in left { #expect(r.stderr.contains("daxpin: removed \(d) ("), "\(r.stderr)") }
    #expect(cliLeftovers().isEmpty)
  }

  /// ext4 on a loop device mounted `-o dax=inode`: a DAX mount by its options, but the device has
  /// no DAX. Every fsdax cell is a skip with the reason, none an ERROR, and nothing is left.
  @Test(.enabled(if: isRoot && FileManager.default.fileExists(atPath: "/sbin/mkfs.ext4"), "needs root and mkfs.ext4"))
  func daxInodeLoopMountGivesNoErrorCells() throws {
    let base = "/var/tmp/daxpin-daxinode-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: base + "/mnt", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: base) }
    func sh(_ cmd: String) -> Int32 {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/sh")
      p.arguments = ["-c", cmd]
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try? p.run()
      p.waitUntilExit()
      return p.terminationStatus
    }
    #expect(sh("truncate -s 64M \(base)/img && mkfs.ext4 -q -F \(base)/img") == 0)
    guard sh("mount -o loop,dax=inode \(base)/img \(base)/mnt") == 0 else {
      withKnownIssue("this machine cannot loop-mount (no loop devices)") { Issue.record("mount -o loop,dax=inode failed") }
      return
    }
    defer { _ = sh("umount \(base)/mnt") }
    let r = try Run.daxpin(["probe", "--json", "--fsdax-dir", base + "/mnt", "--interface", "io_uring", "--interface", "vfio-type1v2"])
    let report = try ReportJSON.decode(Report.self, from: r.stdout)
    #expect(report.inventory.daxMounts.contains { $0.mountPoint == base + "/mnt" && $0.daxOption == "dax=inode" })
    let ext4 = report.probes.filter { $0.memory.kind.fsdaxFilesystem == "ext4" && $0.interface == .ioUring }
    #expect(ext4.count == 6)
    #expect(ext4.allSatisfy { $0.outcome == .unsupported && $0.verdict == .skip })
    #expect(ext4.allSatisfy { $0.reason?.contains("although FS_XFLAG_DAX is set on daxpin's directory") == true })
    #expect(report.summary.error == 0)
    #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/mnt") == ["lost+found"])
  }
}

extension ProbeCommandTests {
  /// RLIMIT_FSIZE below the 2 MiB buffer: the file cells are errors naming EFBIG (with the
  /// hint), the process is not killed by SIGXFSZ, and nothing is left behind.
  @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs root and prlimit"))
  func aTinyFileSizeLimitIsEFBIGNotSIGXFSZ() throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
    p.arguments = ["--fsize=1048576", Run.executable, "probe", "--json", "--interface", "io_uring", "--kind", "pagecache-shared", "--kind", "tmpfs-shared", "--access", "rw"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationReason == .exit)
    #expect(p.terminationStatus == 2)
    let report = try ReportJSON.decode(Report.self, from: String(decoding: data, as: UTF8.self))
    #expect(report.probes.map(\.errnoName) == ["EFBIG", "EFBIG"])
    #expect(report.probes.map(\.reason) == ["ftruncate failed: EFBIG", "ftruncate failed: EFBIG"])
    #expect(report.probes.allSatisfy { $0.hint == "RLIMIT_FSIZE is below the 2 MiB buffer: ulimit -f unlimited" })
    #expect(cliLeftovers().isEmpty)
  }
}

extension ProbeCommandTests {
  /// `link/` resolves a final symlink in every syscall: the trailing slash is dropped before
  /// the checks, so a symlink named with one is refused like one named without.
  @Test(.enabled(if: isRoot, "probe needs root"))
  func aSymlinkNamedWithATrailingSlashIsStillASymlink() throws {
    let dir = NSTemporaryDirectory() + "daxpin-slash-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "/var/tmp")
    let r = try Run.daxpin(["probe", "--pagecache-dir", dir + "/link/", "--interface", "io_uring"])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --pagecache-dir \(dir)/link is a symbolic link: name the directory it points to\n")
    let ok = try Run.daxpin(["probe", "--pagecache-dir", "/var/tmp/", "--interface", "io_uring", "--kind", "pagecache-shared", "--json"])
    let report = try ReportJSON.decode(Report.self, from: ok.stdout)
    #expect(report.probes.first?.memory.path?.hasPrefix("/var/tmp/.daxpin-") == true)
  }
}
