import DaxPinCore
@testable import DaxPinLinux
import Foundation
import SystemPackage
import Testing

/// Runs a host tool; its exit status and stderr.
@discardableResult
private func tool(_ path: String, _ args: [String]) -> (status: Int32, stderr: String) {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = args
  let err = Pipe()
  p.standardOutput = FileHandle.nullDevice
  p.standardError = err
  guard (try? p.run()) != nil else { return (-1, "\(path) did not start") }
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

private let rdmaDevices = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/infiniband")) ?? []
/// This kernel can make a soft-RoCE device: rdma_rxe is loaded, built in, or a module modprobe finds.
private let hasRxe = FileManager.default.fileExists(atPath: "/sys/module/rdma_rxe") || tool("/usr/sbin/modprobe", ["-n", "rdma_rxe"]).status == 0
private let isRoot = getuid() == 0

extension ThisKernelPins {
  @Suite("rdma and af_xdp on this machine's kernel")
  struct RDMAAndXDPLinuxTests {
    /// AF_XDP needs no NIC: XDP_UMEM_REG is real on any kernel with CONFIG_XDP_SOCKETS.
    @Test(.enabled(if: isRoot, "AF_XDP sockets need CAP_NET_RAW")) func afXDPGivesRealVerdictsForEveryHostKind() throws {
      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let results = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.afXDP], kinds: hostKinds).run()
      #expect(results.count == 10)
      if results.allSatisfy({ $0.outcome == .unsupported }) {
        #expect(results[0].reason?.contains("EAFNOSUPPORT") == true, "absent only without CONFIG_XDP_SOCKETS: \(results[0].reason ?? "")")
        return
      }
      for r in results {
        #expect(r.verdict == .pass, "\(r.id): \(r.outcome) \(r.errnoName ?? "") \(r.reason ?? "")")
        #expect(r.request?.hasPrefix("XDP_UMEM_REG len=0x200000") == true)
        if r.access == .ro { #expect(r.errnoName == "EFAULT", "\(r.id): xdp_umem_pin_pages always pins FOLL_WRITE") }
      }
      let pinned = results.filter { $0.outcome == .pinned }.map(\.id)
      let expected = ["af_xdp.anon.rw", "af_xdp.memfd.rw", "af_xdp.tmpfs-shared.rw", "af_xdp.pagecache-private.rw"]
        + (thisKernelVersion >= KernelVersion(6, 5) ? [] : ["af_xdp.pagecache-shared.rw"])
      #expect(Set(pinned) == Set(expected))
      #expect(kernel.held == .nothing)
      #expect(dirs.leftovers.isEmpty)
    }

    /// With no RDMA device (the usual host), the rdma cells are `unsupported` with the setup hint,
    /// whether libibverbs is installed (no device) or not (ELIBACC).
    @Test(.enabled(if: rdmaDevices.isEmpty, "this host has an RDMA device")) func noRDMADeviceIsUnsupportedWithTheHint() throws {
      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let results = try ProbeEngine(
        kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.rdma, .rdmaODP], kinds: [.anon]
      ).run()
      #expect(results.count == 4)
      for r in results {
        #expect(r.outcome == .unsupported)
        #expect(
          r.reason == "no RDMA device: ibv_get_device_list found none" || r.reason == "libibverbs.so.1 cannot be loaded", "\(r.reason ?? "")")
      }
      #expect(kernel.held == .nothing)
    }

    /// Soft-RoCE made for the test (a dummy netdev and an rxe link, removed afterwards even when the
    /// test fails), then real `ibv_reg_mr` answers for the host kinds.
    @Test(.enabled(if: isRoot && hasRxe, "this kernel has no rdma_rxe module (modprobe -n rdma_rxe fails)"))
    func rdmaOverSoftRoCE() throws {
      let netdev = "dxpt\(getpid() % 100000)"
      let link = "dxrxe\(getpid() % 100000)"
      for m in ["ib_uverbs", "rdma_rxe", "dummy"] { tool("/usr/sbin/modprobe", [m]) }
      let added = tool("/usr/sbin/ip", ["link", "add", netdev, "type", "dummy"])
      try #require(added.status == 0, "ip link add \(netdev) type dummy: \(added.stderr)")
      defer { tool("/usr/sbin/ip", ["link", "delete", netdev]) }
      tool("/usr/sbin/ip", ["link", "set", netdev, "up"])
      let rxe = tool("/usr/bin/rdma", ["link", "add", link, "type", "rxe", "netdev", netdev])
      defer { tool("/usr/bin/rdma", ["link", "delete", link]) }
      try #require(rxe.status == 0, "rdma link add \(link): \(rxe.stderr)")

      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let results = try ProbeEngine(
        kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.rdma, .rdmaODP], kinds: hostKinds
      ).run()
      #expect(results.count == 20)
      for r in results where r.interface == .rdma {
        #expect(r.verdict == .pass, "\(r.id): \(r.outcome) \(r.errnoName ?? "") \(r.reason ?? "")")
        if r.outcome == .pinned { #expect((r.pinnedKB ?? 0) >= 2048, "\(r.id): ib_umem_get charges VmPin") }
      }
      for r in results where r.interface == .rdmaODP {
        #expect(r.outcome == .onDemand || r.outcome == .unsupported || r.outcome == .refused, "\(r.id): \(r.outcome)")
        if r.outcome == .onDemand { #expect(r.pinnedKB == 0) }
      }
      #expect(kernel.held == .nothing)
      #expect(dirs.leftovers.isEmpty)
    }
  }
}

import CIBVerbs

/// The seam's libibverbs constants (`RDMAAccess`, `RDMAODPCapabilities`), held to libibverbs-dev's
/// verbs.h: CRDMA passes them to `ibv_reg_mr` and reads `odp_caps` as plain integers.
@Suite("RDMA constants equal verbs.h")
struct RDMAConstantsTests {
  @Test func accessFlags() {
    #expect(RDMAAccess.localWrite.rawValue == Int32(IBV_ACCESS_LOCAL_WRITE.rawValue))
    #expect(RDMAAccess.remoteWrite.rawValue == Int32(IBV_ACCESS_REMOTE_WRITE.rawValue))
    #expect(RDMAAccess.remoteRead.rawValue == Int32(IBV_ACCESS_REMOTE_READ.rawValue))
    #expect(RDMAAccess.onDemand.rawValue == Int32(IBV_ACCESS_ON_DEMAND.rawValue))
  }
  @Test func odpCapabilities() {
    #expect(RDMAODPCapabilities.support == UInt64(IBV_ODP_SUPPORT.rawValue))
    #expect(RDMAODPCapabilities.write == UInt32(IBV_ODP_SUPPORT_WRITE.rawValue))
    #expect(RDMAODPCapabilities.read == UInt32(IBV_ODP_SUPPORT_READ.rawValue))
  }
}
