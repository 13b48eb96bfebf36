import DaxPinCore
import Foundation
import Testing

/// The acceptance command line, with `backend` as the memory backend of m0.
func acceptance(_ backend: String) -> [String] {
  ["check", "qemu", "--", "-object", backend, "-machine", "memory-backend=m0", "-device", "vfio-pci,host=0000:00:03.0"]
}

let sharedFile = "memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on"
let pinnedBackends = [
  "memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=off", "memory-backend-memfd,id=m0,size=64M",
  "memory-backend-file,id=m0,size=64M,mem-path=/dev/shm/vm.ram,share=on",
]

/// This machine's kernel has the 6.5 rule (writable long-term pins of shared page cache refused).
var kernelHas65Rule: Bool {
  var u = utsname()
  uname(&u)
  let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  return (KernelVersion(release: release) ?? KernelVersion(0, 0)) >= KernelVersion(6, 5)
}

/// A libvirt domain equivalent to the acceptance command line: 64 MiB of RAM backed as
/// `<memoryBacking>` says, one PCI device passed through.
func domainXML(_ backing: String) -> String {
  """
  <domain type='kvm'>
    <name>acceptance</name>
    <memory unit='KiB'>65536</memory>
    <memoryBacking>\(backing)</memoryBacking>
    <devices>
      <hostdev mode='subsystem' type='pci' managed='yes'>
        <source><address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></source>
      </hostdev>
    </devices>
  </domain>
  """
}

/// One directory for this test process's `temporaryFile`s, removed when the process exits (the
/// files are read by daxpin children whose tests do not know when the last one is done).
private let temporaryFilesRoot: String = {
  let dir = NSTemporaryDirectory() + "daxpin-check-\(getpid())-\(UUID().uuidString)"
  try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
  atexit { try? FileManager.default.removeItem(atPath: temporaryFilesRoot) }
  return dir
}()

/// Writes `text` to a new file in a private temporary directory; returns its path.
func temporaryFile(_ name: String, _ text: String) throws -> String {
  let dir = URL(fileURLWithPath: temporaryFilesRoot).appendingPathComponent(UUID().uuidString)
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  let url = dir.appendingPathComponent(name)
  try Data(text.utf8).write(to: url)
  return url.path
}

func json(_ s: String) throws -> [String: Any] {
  try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
}

func regions(_ s: String) throws -> [[String: Any]] {
  try #require(try json(s)["regions"] as? [[String: Any]])
}

/// Nested in ProbeCommandTests: `--probe` runs real probes, and the leftover checks must not see
/// another serialized suite's scratch names (.daxpin-* in /dev/shm) while it runs.
extension ProbeCommandTests {
@Suite("daxpin check, end to end")
struct CheckCommandTests {
  @Test(.enabled(if: kernelHas65Rule, "the 6.5 rule decides this case"))
  func sharedPageCacheIsRefusedWithEFAULT() throws {
    let r = try Run.daxpin(acceptance(sharedFile))
    #expect(r.status == 1)
    #expect(r.stderr.isEmpty)
    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines[0].hasPrefix("daxpin check: qemu command line on "))
    #expect(lines[0].hasSuffix(": passes through 0000:00:03.0 (vfio-type1v2, in no IOMMU group here)"))
    #expect(lines[1] == "  vfio-type1v2: Checking m0 (pagecache-shared, 64 MiB, /var/tmp/vm.ram)             : will be refused with EFAULT")
    #expect(lines[2] == "                rule gup-file-dirty-tracking: 6.5+: no FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping that needs dirty tracking; version fallback")
    #expect(lines[3] == "                cause: file-writeback-pin")
    #expect(lines[4] == "                fix: use share=off or memfd (memory-backend-memfd), or a mem-path on tmpfs or hugetlbfs")
    #expect(lines.last!.hasPrefix("daxpin: 0 will pin, 1 will be refused on "))

    let j = try Run.daxpin(acceptance(sharedFile).inserted("--json", at: 2))
    #expect(j.status == 1)
    let region = try #require(try regions(j.stdout).first)
    #expect(region["id"] as? String == "m0")
    #expect(region["path"] as? String == "/var/tmp/vm.ram")
    #expect(region["kind"] as? String == "pagecache-shared")
    #expect(region["interface"] as? String == "vfio-type1v2")
    #expect(region["prediction"] as? String == "refused")
    #expect(region["errno_name"] as? String == "EFAULT")
    #expect(region["cause"] as? String == "file-writeback-pin")
    #expect(region["rule"] as? String == "gup-file-dirty-tracking")
    #expect(region["fix"] as? String == "use share=off or memfd (memory-backend-memfd), or a mem-path on tmpfs or hugetlbfs")
    #expect(region["notes"] as? [String] == [])
  }

  @Test(arguments: pinnedBackends)
  func privateMemfdAndShmArePinned(_ backend: String) throws {
    let r = try Run.daxpin(acceptance(backend))
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(r.stdout.contains(": will pin (longterm-pin-allowed)"))
    let j = try Run.daxpin(acceptance(backend).inserted("--json", at: 2))
    let region = try #require(try regions(j.stdout).first)
    #expect(region["prediction"] as? String == "pinned")
    #expect(region["errno_name"] == nil, "absent facts are omitted")
    #expect(region["cause"] == nil)
    #expect(region["fix"] == nil)
    #expect(try json(j.stdout)["devices"] as? [[String: Any]] != nil)
  }

  @Test func libvirtEquivalentsAgree() throws {
    let onVarTmp = try temporaryFile("qemu.conf", "memory_backing_dir = \"/var/tmp\"\n")
    let onShm = try temporaryFile("qemu.conf", "memory_backing_dir = \"/dev/shm\"\n")
    let cases: [(backing: String, conf: String, kind: String, prediction: String)] = [
      ("<source type='file'/><access mode='shared'/>", onVarTmp, "pagecache-shared", kernelHas65Rule ? "refused" : "pinned"),
      ("<source type='file'/><access mode='private'/>", onVarTmp, "pagecache-private", "pinned"),
      ("<source type='memfd'/>", onVarTmp, "memfd", "pinned"),
      ("<source type='file'/><access mode='shared'/>", onShm, "tmpfs-shared", "pinned"),
    ]
    for c in cases {
      let xml = try temporaryFile("domain.xml", domainXML(c.backing))
      let r = try Run.daxpin(["check", "libvirt", xml, "--qemu-conf", c.conf, "--json"])
      #expect(r.status == (c.prediction == "pinned" ? 0 : 1), "\(c.backing)")
      let region = try #require(try regions(r.stdout).first)
      #expect(region["kind"] as? String == c.kind, "\(c.backing)")
      #expect(region["prediction"] as? String == c.prediction, "\(c.backing)")
      #expect(region["interface"] as? String == "vfio-type1v2")
      if c.prediction == "refused" { #expect(region["cause"] as? String == "file-writeback-pin") }
    }
  }

  @Test(.enabled(if: isRoot, "--probe needs root"))
  func probeAnswersEqualThePredictions() throws {
    for backend in [sharedFile] + pinnedBackends {
      let r = try Run.daxpin(acceptance(backend).inserted("--probe", at: 2).inserted("--json", at: 2))
      let region = try #require(try regions(r.stdout).first, "\(backend): \(r.stderr)")
      let probe = try #require(region["probe"] as? [String: Any], "\(backend)")
      #expect(probe["agrees"] as? Bool == true, "\(backend): \(probe["note"] ?? "")")
      #expect(probe["confirms"] as? Bool == true, "\(backend): \(probe["note"] ?? "")")
      #expect(probe["outcome"] as? String == region["prediction"] as? String, "\(backend)")
      #expect(probe["errno_name"] as? String == region["errno_name"] as? String, "\(backend)")
      if !FileManager.default.fileExists(atPath: "/dev/vfio/vfio") {
        #expect(probe["interface"] as? String == "io_uring", "no VFIO here: the probe pins through io_uring")
        #expect((probe["note"] as? String)?.contains("the vfio-type1v2 answer itself comes from the rule table") == true)
      }
    }
    let xml = try temporaryFile("domain.xml", domainXML("<source type='file'/><access mode='shared'/>"))
    let conf = try temporaryFile("qemu.conf", "memory_backing_dir = \"/var/tmp\"\n")
    let r = try Run.daxpin(["check", "libvirt", xml, "--qemu-conf", conf, "--probe"])
    #expect(r.stdout.contains("                probe: through "))
    #expect(cliLeftovers().isEmpty)
  }

  @Test func runningQEMUByPid() throws {
    // A stand-in for a running QEMU: bash waiting in its `read` builtin (no child process), its
    // argv as /proc shows it: /bin/bash -c "read -t 10 x" bash -object … (the QEMU reader skips
    // the words that are not options, and -c takes its argument).
    // Started through a link named qemu-system-x86_64, as argv[0] shows it: check refuses a
    // process that is not QEMU by its program or argv[0].
    let dir = NSTemporaryDirectory() + "daxpin-check-pid-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createSymbolicLink(atPath: dir + "/qemu-system-x86_64", withDestinationPath: "/bin/bash")
    let p = Process()
    let input = Pipe()
    p.executableURL = URL(fileURLWithPath: dir + "/qemu-system-x86_64")
    p.arguments = ["-c", "read -t 10 x", "bash", "-object", "memory-backend-memfd,id=m0,size=64M", "-machine", "memory-backend=m0", "-device", "vfio-pci,host=0000:00:03.0"]
    p.standardInput = input
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    defer {
      try? input.fileHandleForWriting.close()  // read returns at end of file
      p.waitUntilExit()
    }
    let r = try Run.daxpin(["check", "qemu", "--pid", "\(p.processIdentifier)", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let region = try #require(try regions(r.stdout).first)
    #expect(region["kind"] as? String == "memfd")
    #expect(region["prediction"] as? String == "pinned")
    let gone = try Run.daxpin(["check", "qemu", "--pid", "2147483600"])
    #expect(gone.status == 2)
    #expect(gone.stderr == "daxpin: check qemu: --pid 2147483600: no such process (ENOENT)\n")

    // Not QEMU (libvirtd's pid given for its guest's, or a mistyped one): refused, not judged.
    let other = Process()
    other.executableURL = URL(fileURLWithPath: "/bin/sleep")
    other.arguments = ["30"]
    try other.run()
    defer {
      kill(other.processIdentifier, SIGKILL)
      other.waitUntilExit()
    }
    let notQEMU = try Run.daxpin(["check", "qemu", "--pid", "\(other.processIdentifier)"])
    #expect(notQEMU.status == 2)
    #expect(notQEMU.stdout.isEmpty)
    #expect(notQEMU.stderr.hasPrefix("daxpin: check qemu: --pid \(other.processIdentifier) is not QEMU: its program is /usr/bin/sleep"), "\(notQEMU.stderr)")
  }

  /// A --qemu-conf the user named that does not exist is said (libvirt's defaults are assumed);
  /// the default path absent is a host without libvirt and says nothing.
  @Test func aMissingQemuConfIsSaid() throws {
    let files = try ExplainFiles()
    let xml = try files.write("d.xml", "<domain type='kvm'><name>d</name><memory unit='MiB'>64</memory></domain>")
    let r = try Run.daxpin(["check", "libvirt", xml, "--qemu-conf", files.dir + "/nonexist.conf", "--backend", "fake"])
    #expect(r.stderr.contains("\(files.dir)/nonexist.conf: ENOENT: libvirt's default paths assumed"), "\(r.stderr)")
  }

  @Test func fakeBackendShowsBothSidesOfThe65Rule() throws {
    let before = try Run.daxpin(["check", "qemu", "--backend", "fake", "--profile", "linux-6.1"] + acceptance(sharedFile).dropFirst(2))
    #expect(before.status == 0)
    #expect(before.stdout.hasPrefix("SIMULATED: fake backend, not a real kernel's answer\n"))
    #expect(before.stdout.contains("  vfio-type1v2: Checking m0 (pagecache-shared, 64 MiB, /var/tmp/vm.ram)             : will pin (longterm-pin-allowed)\n"))
    let after = try Run.daxpin(["check", "qemu", "--backend", "fake", "--profile", "linux-6.12"] + acceptance(sharedFile).dropFirst(2))
    #expect(after.status == 1)
    #expect(after.stdout.contains(": will be refused with EFAULT\n"))
    #expect(after.stdout.contains("on 6.12.107-daxpin-fake: passes through 0000:00:03.0 (vfio-type1v2, IOMMU group 1, driver vfio-pci)"))
  }

  @Test func malformedConfigurationsAreOneLineAndExit64() throws {
    let r = try Run.daxpin(["check", "qemu", "--", "-object", "memory-backend-file,id=m0,mem-path=/var/tmp/vm.ram", "-machine", "memory-backend=m0"])
    #expect(r.status == 64)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr == "daxpin: check qemu: -object memory-backend-file,id=m0: size= missing\n")
    let ch = try Run.daxpin(["check", "cloud-hypervisor", "--", "--memory", "size=0", "--memory-zone", "id=z"])
    #expect(ch.status == 64)
    #expect(ch.stderr == "daxpin: check cloud-hypervisor: --memory-zone id=z: size= missing\n")
    let xml = try temporaryFile("bad.xml", "<domain><memory unit='KiB'>1024</memory><devices><memory model='nvdimm'><target><size>1024</size></target></memory></devices></domain>")
    let lv = try Run.daxpin(["check", "libvirt", xml])
    #expect(lv.status == 64)
    #expect(lv.stderr == "daxpin: check libvirt: <memory model='nvdimm'>: <source><path> missing\n")
    let usage = try Run.daxpin(["check", "qemu"])
    #expect(usage.status == 64)
  }

  @Test func unreadableFilesExit2WithTheErrno() throws {
    let r = try Run.daxpin(["check", "libvirt", "/nonexistent/domain.xml"])
    #expect(r.status == 2)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr == "daxpin: check libvirt: /nonexistent/domain.xml: ENOENT\n")
    let dir = try Run.daxpin(["check", "libvirt", "/var/tmp"])
    #expect(dir.status == 2)
    #expect(dir.stderr == "daxpin: check libvirt: /var/tmp: EISDIR\n")
  }

  @Test func domainXMLOnStandardInput() throws {
    let xml = try temporaryFile("domain.xml", domainXML("<source type='memfd'/>"))
    let r = try Run.daxpin(["check", "libvirt", "-"], stdin: xml)
    #expect(r.status == 0)
    #expect(r.stdout.contains("daxpin check: libvirt domain acceptance on "))
    #expect(r.stdout.contains("  vfio-type1v2: Checking pc.ram (memfd, 64 MiB)"))
  }

  @Test func noDeviceIsSaidAndPredictedAsIfOneWere() throws {
    let r = try Run.daxpin(["check", "qemu", "--json", "--", "-m", "64M"])
    #expect(r.status == 0)
    let j = try json(r.stdout)
    #expect(j["hypothetical"] as? Bool == true)
    #expect(j["devices"] as? [Any] != nil)
    #expect((j["devices"] as? [Any])?.isEmpty == true)
    #expect((j["notes"] as? [String])?.first == "no device is passed through: nothing is long-term pinned; each region is predicted as if one were, through the VFIO container (vfio-type1v2)")
  }
}
}

extension Array {
  func inserted(_ e: Element, at i: Int) -> [Element] {
    var a = self
    a.insert(e, at: i)
    return a
  }
}

@Suite("daxpin check without root")
struct CheckWithoutRootTests {
  @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root to drop to nobody"))
  func checkRunsAndProbeIsRefusedOnOneLine() throws {
    let plain = try Run.daxpin(["check", "qemu", "--", "-m", "64M", "-device", "vfio-pci,host=0000:00:03.0"], asUser: 65534)
    #expect(plain.status == 0)
    #expect(plain.stdout.contains("  vfio-type1v2: Checking pc.ram (anon, 64 MiB)"))
    let probe = try Run.daxpin(["check", "qemu", "--probe", "--", "-m", "64M"], asUser: 65534)
    #expect(probe.status == 2)
    #expect(probe.stdout.isEmpty)
    #expect(
      probe.stderr
        == "daxpin: check qemu: --probe needs root: the probe opens VFIO groups and device-DAX and pins memory (run it with sudo, or without --probe)\n")
  }
}
