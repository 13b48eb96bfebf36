import DaxPinCore
import SystemPackage
import Testing

@testable import DaxPinFake

/// Runs the engine over the fake for the given interfaces, through `RecordingKernel`.
private func run(
  _ fake: FakeKernel, _ interfaces: [Interface], kinds: [MemoryKind] = MemoryKind.allCases, accesses: [Access] = Access.allCases,
  recording: RecordingKernel? = nil
) throws -> (results: [ProbeResult], kernel: RecordingKernel) {
  let kernel = recording ?? RecordingKernel(fake)
  let targets = try resolve(fake)
  let results = try ProbeEngine(
    kernel: kernel, targets: targets, features: KernelFeatures(version: fake.profile.version), interfaces: interfaces, kinds: kinds,
    accesses: accesses
  ).run()
  return (results, kernel)
}

@Suite("rdma, rdma-odp and af_xdp through the seam, over the fake")
struct RDMAAndXDPTests {
  @Test func pinnedRegionsChargeVmPinAndAreReleased() throws {
    let fake = FakeKernel(profile: .linux6_12)
    let (results, kernel) = try run(fake, [.rdma], kinds: [.anon, .devdax, .fsdaxExt4Shared], accesses: [.rw])
    #expect(results.map(\.outcome) == [.pinned, .pinned, .refused])
    #expect(results.map(\.verdict) == [.pass, .pass, .pass])
    #expect(results[0].pinnedKB == 2048, "ib_umem_get charges mm->pinned_vm")
    #expect(results[2].errnoName == "EOPNOTSUPP")
    #expect(results[0].request == "ibv_reg_mr rxe0 length=0x200000 LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ")
    #expect(kernel.held == .nothing)
    #expect(fake.heldRDMA == 0)
    #expect(kernel.trace.contains(.rdmaDeregisterMR) && kernel.trace.last(where: { $0 == .rdmaClose || $0 == .rdmaOpen }) == .rdmaClose)
  }

  @Test func readOnlyRegionsWereWritePinsBefore6_2() throws {
    // Before 6.2 a REMOTE_READ region of a read-only shared mapping is EFAULT (FOLL_WRITE|FOLL_FORCE);
    // from 6.2 it is a read pin.
    let old = try run(FakeKernel(profile: .linux6_1), [.rdma], kinds: [.memfd, .anon], accesses: [.ro]).results
    #expect(old.map(\.outcome) == [.refused, .pinned])
    #expect(old[0].errnoName == "EFAULT")
    #expect(old[0].expectation?.origin == "ib-umem-write-force")
    #expect(old.allSatisfy { $0.verdict == .pass })
    let new = try run(FakeKernel(profile: .linux6_12), [.rdma], kinds: [.memfd], accesses: [.ro]).results
    #expect(new.map(\.outcome) == [.pinned])
    #expect(new[0].request?.hasSuffix(" REMOTE_READ") == true)
  }

  @Test func onDemandRegistrationIsNotAPin() throws {
    let fake = FakeKernel(profile: .linuxLatest)
    let (results, kernel) = try run(fake, [.rdmaODP], kinds: [.anon, .fsdaxXfsShared, .devdax])
    #expect(results.count == 6)
    for r in results where r.access == .rw {
      #expect(r.outcome == .onDemand, "\(r.id): \(r.outcome)")
      #expect(r.verdict == .pass)
      #expect(r.pinnedKB == 0)
      #expect(!r.unsafe, "an ODP region of fsdax pins nothing: not UNSAFE")
      #expect(r.expectation?.origin == "ib-umem-odp")
      #expect(r.request?.hasSuffix("|ON_DEMAND") == true)
    }
    #expect(kernel.held == .nothing)
  }

  @Test func aDeviceWithoutODPMakesRdmaODPUnsupportedWithTheReason() throws {
    let results = try run(FakeKernel(profile: .linux6_1), [.rdmaODP], kinds: [.anon]).results
    #expect(results.allSatisfy { $0.outcome == .unsupported && $0.verdict == .skip })
    #expect(results[0].reason == "rxe0 reports no on-demand paging (ibv_query_device_ex: general_caps=0x0 rc_odp_caps=0x0)")
  }

  @Test func noRDMADeviceIsUnsupportedWithTheSetupHint() throws {
    let fake = FakeKernel(profile: .linux6_12, topology: .noPmem)
    let results = try run(fake, [.rdma, .rdmaODP], kinds: [.anon]).results
    #expect(results.count == 4)
    for r in results {
      #expect(r.outcome == .unsupported)
      #expect(r.reason == "no RDMA device: ibv_get_device_list found none")
      #expect(r.hint?.hasPrefix("modprobe rdma_rxe; rdma link add rxe0 type rxe netdev IFACE") == true)
    }
  }

  @Test func absentLibibverbsIsUnsupportedWithThePackage() throws {
    let fake = FakeKernel(profile: .linux6_12)
    let kernel = RecordingKernel(fake)
    kernel.inject(.rdmaOpen, onUse: 1, errno: .libraryNotAccessible)
    let results = try run(fake, [.rdma], kinds: [.anon], recording: kernel).results
    #expect(results.allSatisfy { $0.outcome == .unsupported })
    #expect(results[0].reason == "libibverbs.so.1 cannot be loaded")
    #expect(results[0].hint == "apt-get install libibverbs1 ibverbs-providers")
  }

  @Test func memlockLimitsAreResourceLimited() throws {
    // Without CAP_IPC_LOCK and 1 MiB of RLIMIT_MEMLOCK: ib_umem_get ENOMEM, xdp_umem_account_pages ENOBUFS.
    let fake = FakeKernel(profile: .linux6_12, memlockKB: 1024)
    let results = try run(fake, [.rdma, .afXDP], kinds: [.anon], accesses: [.rw]).results
    #expect(results.map(\.outcome) == [.resourceLimited, .resourceLimited])
    #expect(results.map(\.errnoName) == ["ENOMEM", "ENOBUFS"] || results.map(\.errno) == [12, 105])
    #expect(results.allSatisfy { $0.verdict == .skip })
  }

  @Test func afXDPPinsForWritingAndSkipsVmPin() throws {
    let fake = FakeKernel(profile: .linux6_12)
    let (results, kernel) = try run(fake, [.afXDP], kinds: [.anon, .pagecacheShared, .fsdaxExt4PrivateCow, .devdax])
    let got = Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0.errnoName ?? $0.outcome.rawValue) })
    #expect(got == [
      "af_xdp.anon.rw": "pinned", "af_xdp.anon.ro": "EFAULT",
      "af_xdp.pagecache-shared.rw": "EFAULT", "af_xdp.pagecache-shared.ro": "EFAULT",
      "af_xdp.fsdax-ext4-private-cow.rw": "EOPNOTSUPP", "af_xdp.fsdax-ext4-private-cow.ro": "EOPNOTSUPP",
      "af_xdp.devdax.rw": "pinned", "af_xdp.devdax.ro": "EFAULT",
    ])
    #expect(results.allSatisfy { $0.verdict == .pass }, "\(results.filter { $0.verdict != .pass }.map(\.id))")
    #expect(results.first { $0.id == "af_xdp.anon.rw" }?.pinnedKB == 0, "the UMEM is charged to the user's locked_vm, not VmPin")
    #expect(kernel.held == .nothing, "each pin's socket is closed")
    #expect(kernel.trace.filter { $0 == .xdpSocket }.count == 1 + 8, "one socket to detect AF_XDP, one per pin")
  }

  @Test func absentXDPSocketsAreUnsupported() throws {
    let fake = FakeKernel(profile: .linux6_12)
    let kernel = RecordingKernel(fake)
    kernel.inject(.xdpSocket, onUse: 1, errno: .addressFamilyNotSupported)
    let results = try run(fake, [.afXDP], kinds: [.anon], recording: kernel).results
    #expect(results.allSatisfy { $0.outcome == .unsupported })
    #expect(results[0].reason == "socket(AF_XDP): EAFNOSUPPORT: this kernel has no AF_XDP sockets")
    #expect(results[0].hint == "a kernel with CONFIG_XDP_SOCKETS=y")
  }

  @Test func everyFailedCallOfTheNewInterfacesLeavesNothing() throws {
    for call in [KernelCall.rdmaOpen, .rdmaRegisterMR, .xdpSocket, .xdpRegisterUMEM] {
      for errno in call.errnos {
        for nth in [1, 2] {
          let fake = FakeKernel(profile: .linuxLatest)
          let kernel = RecordingKernel(fake)
          kernel.inject(call, onUse: nth, errno: errno)
          let results = try run(fake, [.rdma, .rdmaODP, .afXDP], kinds: [.anon, .memfd], recording: kernel).results
          #expect(results.count == 12)
          #expect(kernel.held == .nothing, "\(call) #\(nth) \(errno.name)")
          #expect(fake.heldRDMA == 0 && fake.held == (0, 0), "\(call) #\(nth) \(errno.name)")
        }
      }
    }
  }
}

@Suite("judging an on-demand registration")
struct OnDemandJudgeTests {
  let odp = Expectation.onDemand(origin: "ib-umem-odp", basis: "test")
  @Test func onDemandAsExpectedPasses() {
    let j = Judge.verdict(id: ProbeID(.rdmaODP, .fsdaxExt4Shared, .rw), outcome: .onDemand, errno: nil, expectation: odp)
    #expect(j.verdict == .pass && !j.unsafe)
  }
  @Test func aPinWhereODPWasExpectedFails() {
    let j = Judge.verdict(id: ProbeID(.rdmaODP, .anon, .rw), outcome: .pinned, errno: nil, expectation: odp)
    #expect(j.verdict == .fail)
    #expect(j.reason == "expected a region registered on demand [ib-umem-odp], observed pinned pages (VmPin grew)")
  }
  @Test func onDemandWhereAPinWasExpectedFails() {
    let j = Judge.verdict(
      id: ProbeID(.rdma, .anon, .rw), outcome: .onDemand, errno: nil, expectation: .pinned(origin: "longterm-pin-allowed", basis: "test"))
    #expect(j.verdict == .fail)
    #expect(j.reason == "expected pinned [longterm-pin-allowed], observed a region registered on demand (no pin)")
  }
}
