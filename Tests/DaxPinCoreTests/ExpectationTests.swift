import SystemPackage
import Testing

@testable import DaxPinCore

@Suite("expectation rules and verdicts")
struct ExpectationTests {
  let k510 = KernelFeatures(version: KernelVersion(5, 10))
  let k61 = KernelFeatures(version: KernelVersion(6, 1))
  let k612 = KernelFeatures(version: KernelVersion(6, 12))

  func expect(_ i: Interface, _ k: MemoryKind, _ a: Access, _ f: KernelFeatures) -> DaxPinCore.Expectation {
    Expectations.expectation(for: ProbeID(i, k, a), on: f)
  }

  @Test func fsdaxIsRefusedEverywhere() {
    for f in [k510, k61, k612] {
      for i in [Interface.vfioType1, .vfioType1v2, .iommufdCompat, .iommufd, .ioUring] {
        for k in [MemoryKind.fsdaxExt4Shared, .fsdaxXfsShared, .fsdaxExt4Private, .fsdaxXfsPrivate] {
          for a in Access.allCases where !(i == .ioUring && a == .ro && f == k510) {
            let e = expect(i, k, a, f)
            #expect(e.outcome == .refused, "\(i).\(k).\(a) on \(f.version!)")
            #expect(e.errnoName == "EOPNOTSUPP")
            #expect(e.origin == "gup-fsdax")
          }
        }
      }
    }
  }

  @Test func devdaxIsPinnedByVFIO() {
    for f in [k510, k61, k612] {
      #expect(expect(.vfioType1v2, .devdax, .rw, f).outcome == .pinned)
    }
  }

  @Test func ioUringPolicyBefore65() {
    #expect(expect(.ioUring, .devdax, .rw, k61) == DaxPinCore.Expectation.refused(.notSupported, origin: "io_uring-file-policy", basis: expect(.ioUring, .devdax, .rw, k61).basis))
    #expect(expect(.ioUring, .memfd, .rw, k510).outcome == .pinned, "lab: Debian 5.10.223 pins memfd")
    #expect(expect(.ioUring, .tmpfsShared, .rw, k510).outcome == .pinned)
    #expect(expect(.ioUring, .memfd, .rw, k61).outcome == .pinned)
    #expect(expect(.ioUring, .pagecacheShared, .rw, k510).errnoName == "EOPNOTSUPP")
    #expect(expect(.ioUring, .pagecachePrivate, .rw, k61).errnoName == "EOPNOTSUPP")
    #expect(expect(.ioUring, .pagecachePrivate, .rw, k612).outcome == .pinned)
  }

  @Test func fsdaxCheckAfterThePinBefore511() {
    let e = expect(.ioUring, .fsdaxXfsShared, .ro, k510)
    #expect(e.errnoName == "EFAULT", "lab: Debian 5.10.223 fails FOLL_WRITE before check_dax_vmas")
    #expect(e.origin == "io_uring-write-pin")
    #expect(expect(.ioUring, .fsdaxXfsShared, .rw, k510).errnoName == "EOPNOTSUPP")
    #expect(expect(.ioUring, .fsdaxXfsShared, .ro, k61).errnoName == "EOPNOTSUPP")
  }

  @Test func dirtyTrackingRuleFrom65() {
    #expect(expect(.vfioType1v2, .pagecacheShared, .rw, k61).outcome == .pinned)
    let e = expect(.vfioType1v2, .pagecacheShared, .rw, k612)
    #expect(e.errnoName == "EFAULT")
    #expect(e.origin == "gup-file-dirty-tracking")
    #expect(expect(.vfioType1v2, .pagecacheShared, .ro, k612).outcome == .pinned, "read-only pins carry no FOLL_WRITE")
    #expect(expect(.ioUring, .pagecacheShared, .rw, k612).errnoName == "EFAULT")
  }

  @Test func copyOnWriteFsdaxDependsOnTheGUPPath() {
    #expect(expect(.vfioType1v2, .fsdaxExt4PrivateCow, .rw, k612).errnoName == "EOPNOTSUPP", "pin_user_pages_remote walks the VMA")
    #expect(expect(.ioUring, .fsdaxExt4PrivateCow, .rw, k612).outcome == .pinned)
    #expect(expect(.ioUring, .fsdaxExt4PrivateCow, .ro, k612).errnoName == "EOPNOTSUPP", "FOLL_WRITE on a read-only PTE falls to the slow path")
    #expect(expect(.ioUring, .fsdaxXfsPrivateCow, .rw, k61).errnoName == "EOPNOTSUPP")
  }

  @Test func mapFileIsMemfdOnly() {
    #expect(expect(.iommufdFile, .memfd, .rw, k612).outcome == .pinned)
    #expect(expect(.iommufdFile, .devdax, .rw, k612).errnoName == "EINVAL")
    #expect(expect(.iommufdFile, .fsdaxExt4Shared, .rw, k612).origin == "memfd-only")
  }

  /// ib_umem_get, read from drivers/infiniband/core/umem.c and mm/gup.c by version and held to the
  /// lab (Debian 5.10.223, 6.1.176, 6.12.107, 7.3.4).
  @Test func rdmaFollowsIbUmemGet() {
    for f in [k510, k61, k612] {
      #expect(expect(.rdma, .anon, .rw, f).outcome == .pinned)
      #expect(expect(.rdma, .devdax, .rw, f).outcome == .pinned)
      #expect(expect(.rdma, .fsdaxExt4Shared, .rw, f).errnoName == "EOPNOTSUPP")
      #expect(expect(.rdma, .fsdaxXfsPrivateCow, .rw, f).origin == "gup-fast-anon-cow", "pin_user_pages_fast pins the copies")
      #expect(expect(.rdma, .pagecachePrivate, .ro, f).outcome == .pinned)
    }
    // Before 6.2 a read-only region is a FOLL_WRITE|FOLL_FORCE pin: EFAULT on shared mappings
    // (on 5.10 even before the fsdax check), and on hugetlb from 6.0.
    #expect(expect(.rdma, .memfd, .ro, k510).origin == "ib-umem-write-force")
    #expect(expect(.rdma, .fsdaxXfsShared, .ro, k510).errnoName == "EFAULT")
    #expect(expect(.rdma, .fsdaxXfsShared, .ro, k61).errnoName == "EOPNOTSUPP")
    #expect(expect(.rdma, .hugetlb2m, .ro, k510).outcome == .pinned)
    #expect(expect(.rdma, .hugetlb2m, .ro, k61).errnoName == "EFAULT")
    #expect(expect(.rdma, .fsdaxExt4PrivateCow, .ro, k61).errnoName == "EOPNOTSUPP")
    // From 6.2 a read pin.
    for k in [MemoryKind.memfd, .hugetlb2m, .devdax, .pagecacheShared, .fsdaxExt4PrivateCow] {
      #expect(expect(.rdma, k, .ro, k612).outcome == .pinned, "\(k)")
    }
    #expect(expect(.rdma, .pagecacheShared, .rw, k612).origin == "gup-file-dirty-tracking")
  }

  @Test func rdmaODPIsOnDemandAndAFXDPAlwaysWrites() {
    for f in [k510, k61, k612, KernelFeatures(version: nil)] {
      for k in MemoryKind.allCases {
        #expect(expect(.rdmaODP, k, .rw, f) == .onDemand(origin: "ib-umem-odp", basis: expect(.rdmaODP, k, .ro, f).basis))
      }
      #expect(expect(.afXDP, .anon, .rw, f).outcome == .pinned)
      #expect(expect(.afXDP, .devdax, .rw, f).outcome == .pinned)
      #expect(expect(.afXDP, .fsdaxExt4PrivateCow, .rw, f).errnoName == "EOPNOTSUPP", "pin_user_pages walks the VMA")
      #expect(expect(.afXDP, .anon, .ro, f).origin == "xdp-umem-write-pin")
    }
    #expect(expect(.afXDP, .fsdaxExt4Shared, .ro, k510).errnoName == "EFAULT")
    #expect(expect(.afXDP, .fsdaxExt4Shared, .ro, k61).errnoName == "EOPNOTSUPP")
    #expect(expect(.afXDP, .pagecacheShared, .rw, k61).outcome == .pinned)
    #expect(expect(.afXDP, .pagecacheShared, .rw, k612).errnoName == "EFAULT")
  }

  @Test func everyCellHasAnExpectation() {
    for i in Interface.allCases {
      for k in MemoryKind.allCases {
        for a in Access.allCases {
          let e = expect(i, k, a, KernelFeatures(version: nil))
          #expect((e.outcome == .refused) == (e.errno != nil), "a refusal names its errno; a pin, an ODP registration or a truncate answer has none")
          #expect([.waited, .completed].contains(e.outcome) == (i == .truncateHeld), "truncate-held expects waited or completed, and only it")
          #expect(!e.origin.isEmpty && !e.basis.isEmpty)
        }
      }
    }
  }

  @Test func pinnedFsdaxIsUnsafe() {
    let id = ProbeID(.vfioType1v2, .fsdaxXfsShared, .rw)
    let e = Expectations.expectation(for: id, on: k61)
    let j = Judge.verdict(id: id, outcome: .pinned, errno: nil, expectation: e)
    #expect(j.verdict == .fail)
    #expect(j.unsafe)
    #expect(j.reason?.hasPrefix("UNSAFE") == true)
  }

  @Test func pinnedCopyOnWriteIsNotUnsafe() {
    let id = ProbeID(.vfioType1v2, .fsdaxXfsPrivateCow, .rw)
    let j = Judge.verdict(id: id, outcome: .pinned, errno: nil, expectation: Expectations.expectation(for: id, on: k61))
    #expect(j.verdict == .fail)
    #expect(!j.unsafe, "the pinned pages are anonymous copies")
  }

  @Test func wrongErrnoIsAFailThatNamesBoth() {
    let id = ProbeID(.ioUring, .fsdaxExt4Shared, .rw)
    let j = Judge.verdict(id: id, outcome: .refused, errno: Errno.badAddress.rawValue, expectation: Expectations.expectation(for: id, on: k612))
    #expect(j.verdict == .fail)
    #expect(j.reason == "expected refused with EOPNOTSUPP [gup-fsdax], observed refused with EFAULT")
  }

  @Test func skipsAndErrors() {
    let id = ProbeID(.ioUring, .anon, .rw)
    let e = Expectations.expectation(for: id, on: k612)
    #expect(Judge.verdict(id: id, outcome: .unsupported, errno: nil, expectation: e).verdict == .skip)
    #expect(Judge.verdict(id: id, outcome: .notExercised, errno: nil, expectation: e).verdict == .skip)
    #expect(Judge.verdict(id: id, outcome: .resourceLimited, errno: 12, expectation: e).verdict == .skip)
    #expect(Judge.verdict(id: id, outcome: .setupFailed, errno: nil, expectation: e).verdict == .error)
  }
}

@Suite("report summary and text")
struct ReportTests {
  func result(_ v: Verdict, unsafe: Bool = false, _ i: Interface = .ioUring, reason: String? = nil, kind: MemoryKind = .anon) -> ProbeResult {
    // An unsafe cell is what the engine makes of an fsdax pin that succeeded.
    var r = ProbeResult(
      interface: i, memory: MemoryDescription(kind: unsafe ? .fsdaxExt4Shared : kind, size: 4096), access: .rw,
      outcome: v == .skip ? .unsupported : .pinned, expectation: nil, verdict: v)
    r.reason = reason
    return r
  }

  @Test func exitCodes() {
    #expect(Report.summarize([result(.pass), result(.skip)]).exitCode == 0)
    #expect(Report.summarize([result(.pass), result(.fail)]).exitCode == 1)
    #expect(Report.summarize([result(.pass), result(.error)]).exitCode == 2)
    #expect(Report.summarize([result(.fail), result(.error)]).exitCode == 1)
    #expect(Report.summarize([result(.skip), result(.skip)]).exitCode == 4)
    #expect(Report.summarize([]).exitCode == 4)
    let s = Report.summarize([result(.fail, unsafe: true), result(.pass)])
    #expect(s.unsafe == 1)
    #expect(s.verdict == .fail)
  }

  @Test func textGroupsRepeatedSkipsAndHidesPassesWhenQuiet() {
    let inv = fullInventory()
    let probes = [
      result(.skip, .vfioType1, reason: "no /dev/vfio/vfio", kind: .anon),
      result(.skip, .vfioType1, reason: "no /dev/vfio/vfio", kind: .memfd),
      result(.pass), result(.fail, unsafe: true, .vfioType1v2, kind: .fsdaxExt4Shared),
    ]
    let report = Report(toolVersion: "t", backend: .linux, host: .init(hostname: nil, arch: nil), inventory: inv, probes: probes)
    let text = ProbeText.render(report, quiet: false, color: false)
    #expect(text.contains("vfio-type1.* (2 probes, unsupported)"))
    #expect(text.contains(": PASS"))
    #expect(text.contains("FAIL UNSAFE"))
    #expect(!text.contains("\u{1B}["), "no colour unless asked")
    let quiet = ProbeText.render(report, quiet: true, color: true)
    #expect(!quiet.contains("PASS\u{1B}"))
    #expect(quiet.contains("\u{1B}[31;1mFAIL UNSAFE"))
  }

  @Test func reportRoundTripsAndOmitsNulls() throws {
    let report = Report(
      toolVersion: "t", backend: .linux, host: .init(hostname: "h", arch: "x86_64"), inventory: fullInventory(),
      probes: [result(.pass)])
    let json = try ReportJSON.encode(report)
    #expect(!json.contains("null"))
    #expect(json.contains("\"schema\" : \"daxpin/report\""))
    #expect(!json.contains("\"simulated\""))
    #expect(try ReportJSON.decode(Report.self, from: json) == report)
  }
}

@Suite("IOVA choice")
struct TargetTests {
  @Test func iovaInsideTheWindowsAndAligned() {
    let two = UInt64(2 << 20)
    #expect(chooseIOVA(in: [IOVARange(start: 0, last: 0xfedf_ffff)], size: two) == two)
    #expect(chooseIOVA(in: [IOVARange(start: 0x1000, last: 0x1fffff), IOVARange(start: 0x1_0000_0000, last: 0x1_ffff_ffff)], size: two) == 0x1_0000_0000)
    #expect(chooseIOVA(in: [IOVARange(start: 0, last: 0x100000)], size: two) == nil)
  }
}

@Suite("memory kinds")
struct MemoryKindTests {
  @Test func readFaultedKindsAreThePrivateFileMappingsAndDevdax() {
    let read = Set(MemoryKind.allCases.filter { !$0.faultsByWriting })
    #expect(read == [.pagecachePrivate, .fsdaxExt4Private, .fsdaxXfsPrivate, .devdax])
  }
}
