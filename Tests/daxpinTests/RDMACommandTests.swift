import DaxPinCore
import Foundation
import Testing

private let libibverbs = "/usr/lib/x86_64-linux-gnu/libibverbs.so.1"
private let canHideLibrary =
  getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") && FileManager.default.fileExists(atPath: libibverbs)

/// Real probes sweep dead runs' `.daxpin-*` directories: nested in the serialized
/// ProbeCommandTests so the sweep never takes a directory another probe test planted.
extension ProbeCommandTests {
  @Suite("daxpin without libibverbs")
  struct RDMACommandTests {
    /// libibverbs.so.1 hidden by /dev/null bound over it, in a private mount namespace that ends
    /// with the command: daxpin still starts, probes the rest, and says why the rdma cells cannot be had.
    @Test(.enabled(if: canHideLibrary, "needs root, unshare and libibverbs installed, to hide it in a mount namespace"))
    func probeStartsAndSaysLibibverbsIsMissing() throws {
      let r = try Run.shell(
        #"lib=$(readlink -f \#(libibverbs)) && exec unshare -m sh -c 'mount --bind /dev/null "$0" && exec "$1" probe --json --interface rdma --interface af_xdp --kind anon' "$lib" "$DAXPIN""#
      )
      #expect(r.stderr.isEmpty, "\(r.stderr)")
      let report = try ReportJSON.decode(Report.self, from: r.stdout)
      let rdma = report.probes.filter { $0.interface == .rdma }
      #expect(rdma.count == 2)
      #expect(rdma.allSatisfy { $0.outcome == .unsupported && $0.reason == "libibverbs.so.1 cannot be loaded" })
      #expect(rdma.first?.hint == "apt-get install libibverbs1 ibverbs-providers")
      #expect(report.probes.first { $0.id == "af_xdp.anon.rw" }?.outcome == .pinned, "everything else is probed")
      #expect(FileManager.default.contents(atPath: libibverbs)?.isEmpty == false, "the library is untouched outside the namespace")
    }
  }
}
