import DaxPinCore
import Foundation
import Testing

/// `.daxpin-*` directories the CLI left in its default scratch parents (must be none).
func cliLeftovers() -> [String] {
  ["/var/tmp", "/dev/shm"].flatMap { dir in
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(".daxpin-") }.map { "\(dir)/\($0)" }
  }
}

@Suite("daxpin probe, end to end", .serialized)
struct ProbeCommandTests {
  @Test(.enabled(if: isRoot, "probe needs root"))
  func jsonGivesRealIOUringCellsAndSkipsWhatIsAbsent() throws {
    let r = try Run.daxpin(["probe", "--json"])
    let report = try ReportJSON.decode(Report.self, from: r.stdout)
    #expect(r.status == report.summary.exitCode)
    #expect(report.schema == "daxpin/report")
    #expect(report.backend == .linux)
    #expect(!report.isSimulated)
    #expect(report.probes.count == Interface.allCases.count * MemoryKind.allCases.count * 2)
    let inv = report.inventory
    if inv.ioUring.available {
      for kind in ["anon", "memfd", "tmpfs-shared", "pagecache-shared", "pagecache-private"] {
        for access in ["rw", "ro"] {
          let p = try #require(report.probes.first { $0.id == "io_uring.\(kind).\(access)" })
          if (report.kernel.version2 ?? KernelVersion(0, 0)) >= KernelVersion(6, 5) {
            // Lab-verified on Debian 6.12 and 7.3; this machine's kernel behaves the same.
            let pinned = access == "rw" && kind != "pagecache-shared"
            #expect(p.outcome == (pinned ? .pinned : .refused), "\(p.id)")
            #expect(p.errnoName == (pinned ? nil : "EFAULT"), "\(p.id)")
          }
          #expect(p.expectation != nil)
          #expect(p.verdict == .pass, "\(p.id): \(p.reason ?? "")")
          if p.outcome == .refused { #expect(p.errnoName != nil && p.errno != nil) }
        }
      }
      #expect(report.summary.exitCode == 0)
    }
    if inv.daxMounts.isEmpty {
      // (truncate-held runs on the shared fsdax kinds only: the private ones are not its cells.)
      for p in report.probes where p.memory.kind.isFilesystemDAX && (p.interface != .truncateHeld || p.memory.kind.isShared) {
        #expect(p.outcome == .unsupported, "\(p.id): no DAX mount here, whatever the interface")
        #expect(p.hint != nil)
      }
    }
    if !inv.vfio.container {
      #expect(report.probes.filter { $0.interface == .vfioType1v2 }.allSatisfy { $0.outcome == .unsupported && $0.hint?.contains("daxpin lab") == true })
    }
    #expect(cliLeftovers().isEmpty)
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func textIsOneLinePerProbeWithASummary() throws {
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "anon", "--kind", "devdax"])
    #expect(r.stdout.contains("io_uring: Checking io_uring.anon.rw (pinned in place)") || r.stdout.contains("io_uring: Checking io_uring.anon.rw (pinned after migration)"))
    #expect(r.stdout.contains(": PASS"))
    #expect(r.stdout.contains("hint: "))
    #expect(r.stdout.contains("daxpin: 2 pass, 0 fail, 2 skip, 0 error on "))
    #expect(!r.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
    let quiet = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "anon", "--quiet"])
    #expect(!quiet.stdout.contains(": PASS"))
    #expect(quiet.status == 0)
  }

  @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root to drop to nobody"))
  func nonRootIsOneLineExit2AndNothingDone() throws {
    let r = try Run.daxpin(["probe"], asUser: 65534)
    #expect(r.status == 2)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr == "daxpin: probe needs root: it opens VFIO groups, /dev/iommu and /dev/dax and pins memory (run: sudo daxpin probe)\n")
    #expect(cliLeftovers().isEmpty)
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func sigintReleasesEverythingAndExitsBySignal() throws {
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--interrupt-after", "3"])
    #expect(r.signalled == SIGINT)
    #expect(r.stderr.contains("interrupted by signal 2 after 3 probes; everything mapped, registered, opened or created was released"))
    #expect(cliLeftovers().isEmpty)
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func outputFileHoldsTheReport() throws {
    let path = NSTemporaryDirectory() + "daxpin-probe-\(UUID().uuidString).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "memfd", "--output", path])
    #expect(r.status == 0)
    let report = try ReportJSON.decode(Report.self, from: try String(contentsOfFile: path, encoding: .utf8))
    #expect(report.probes.map(\.id) == ["io_uring.memfd.rw", "io_uring.memfd.ro"])
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func badObjectsAreClearErrors() throws {
    let dir = try Run.daxpin(["probe", "--fsdax-dir", "/nonexistent"])
    #expect(dir.status == 2)
    #expect(dir.stderr == "daxpin: --fsdax-dir /nonexistent: ENOENT\n")
    let tmpfs = try Run.daxpin(["probe", "--fsdax-dir", "/dev/shm"])
    #expect(tmpfs.status == 2)
    #expect(tmpfs.stderr == "daxpin: --fsdax-dir /dev/shm is on tmpfs, not ext4 or xfs\n")
    let pc = try Run.daxpin(["probe", "--pagecache-dir", "/etc/hostname"])
    #expect(pc.status == 2)
    #expect(pc.stderr == "daxpin: --pagecache-dir /etc/hostname is a regular file, not a directory\n")
    let dev = try Run.daxpin(["probe", "--devdax", "/dev/dax9.9"])
    #expect(dev.status == 2)
    #expect(dev.stderr == "daxpin: --devdax /dev/dax9.9: ENOENT\n")
  }

  @Test(.enabled(if: isRoot, "probe needs root"))
  func missingVFIOGroupIsAnErrorVerdictNotACrash() throws {
    let r = try Run.daxpin(["probe", "--interface", "vfio-type1v2", "--kind", "anon", "--vfio-group", "4242", "--json"])
    let report = try ReportJSON.decode(Report.self, from: r.stdout)
    #expect(r.status == report.summary.exitCode)
    #expect(report.probes.allSatisfy { $0.reason != nil })
  }

  // Here, not in the report suite: every test that runs a real probe is in this serialized suite,
  // so the leftover checks never see another test's run in progress.
  @Test(.enabled(if: isRoot, "probe needs root"))
  func matrixOfARealReport() throws {
    let path = NSTemporaryDirectory() + "daxpin-m-\(UUID().uuidString).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    _ = try Run.daxpin(["probe", "--interface", "io_uring", "--output", path, "--quiet"])
    let md = try Run.daxpin(["report", "matrix", path])
    #expect(md.status == 0)
    #expect(md.stdout.contains("## io_uring"))
    #expect(md.stdout.contains("✔"))
    let jl = try Run.daxpin(["report", "matrix", "--jsonl", path])
    #expect(jl.stdout.split(separator: "\n").count == MemoryKind.allCases.count * 2)
  }
  @Test func usageErrors() throws {
    #expect(try Run.daxpin(["probe", "--interface", "infiniband"]).status == 64)
    #expect(try Run.daxpin(["probe", "--kind", "fsdax"]).status == 64)
  }
}

@Suite("daxpin probe --backend fake, end to end")
struct FakeProbeCommandTests {
  @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "drops to nobody"))
  func anyUserGetsASimulatedReport() throws {
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--json"], asUser: 65534)
    #expect(r.status == 0)
    let report = try ReportJSON.decode(Report.self, from: r.stdout)
    #expect(report.isSimulated)
    #expect(report.backend == .fake)
    #expect(report.probes.count == fullRunCells)
    #expect(report.probes.first { $0.id == "vfio-type1v2.fsdax-xfs-shared.rw" }?.errnoName == "EOPNOTSUPP")
    #expect(report.probes.first { $0.id == "vfio-type1v2.devdax.rw" }?.outcome == .pinned)
  }

  @Test func unsafeProfileFailsAndSaysSimulated() throws {
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-4.14", "--interface", "vfio-type1v2", "--kind", "fsdax-ext4-shared"])
    #expect(r.status == 1)
    #expect(r.stdout.hasPrefix("SIMULATED: fake backend (simulated: linux-4.14)"))
    #expect(r.stdout.contains("FAIL UNSAFE"))
  }

  @Test func topologyAndProfileAreChecked() throws {
    let r = try Run.daxpin(["probe", "--backend", "fake", "--topology", "no-pmem", "--interface", "io_uring", "--kind", "devdax", "--json"])
    #expect(try ReportJSON.decode(Report.self, from: r.stdout).probes.allSatisfy { $0.outcome == .unsupported })
    #expect(try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-2.6"]).status == 64)
    #expect(try Run.daxpin(["probe", "--backend", "qemu"]).status == 64)
  }
}
