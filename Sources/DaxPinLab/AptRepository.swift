import DaxPinLinux
import FoundationEssentials
import Glibc

/// A private apt state (lists, cache, status, sources) under the lab's cache directory, naming
/// the machine's own Debian mirror for every suite the lab needs. The machine's apt state is
/// never touched.
struct AptRepository {
  let directory: String
  let mirror: String
  let log: @Sendable (String) -> Void
  /// Where a download's bytes are shown.
  var progress: ProgressSink? = nil

  init(directory: String, mirror: String, log: @escaping @Sendable (String) -> Void) {
    self.directory = directory
    self.mirror = mirror
    self.log = log
  }

  var sourcesList: String { directory + "/sources.list" }

  /// Options that point apt-get / apt-cache at the private state only.
  var options: [String] {
    [
      "-o", "Dir::Etc::SourceList=\(sourcesList)", "-o", "Dir::Etc::SourceParts=/dev/null",
      "-o", "Dir::State::Lists=\(directory)/lists", "-o", "Dir::State::Status=\(directory)/status",
      "-o", "Dir::Cache=\(directory)/cache", "-o", "Dir::Etc::Preferences=/dev/null",
      "-o", "Dir::Etc::PreferencesParts=/dev/null", "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
      "-o", "Acquire::Languages=none",
    ]
  }

  /// The mirror from /etc/apt, or a clear error saying where daxpin looked.
  static func machineMirror(root: String = "") throws(LabError) -> String {
    let fm = FileManager.default
    var sources = AptSources.parseList((try? String(contentsOfFile: root + "/etc/apt/sources.list", encoding: .utf8)) ?? "")
    let dir = root + "/etc/apt/sources.list.d"
    for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
      let text = (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? ""
      if name.hasSuffix(".sources") { sources += AptSources.parseDeb822(text) }
      if name.hasSuffix(".list") { sources += AptSources.parseList(text) }
    }
    guard let mirror = AptSources.debianMirror(in: sources) else {
      throw .setup(
        "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: the lab fetches kernels through the mirror apt already uses")
    }
    return mirror
  }

  /// Writes the private sources.list and runs `apt-get update` unless the lists are fresh.
  func update(maxAgeSeconds: Double = 24 * 3600) throws(LabError) {
    let fm = FileManager.default
    for d in ["lists/partial", "cache/archives/partial"] {
      try? fm.createDirectory(atPath: directory + "/" + d, withIntermediateDirectories: true)
    }
    if !fm.fileExists(atPath: directory + "/status") { _ = fm.createFile(atPath: directory + "/status", contents: Data()) }
    let list = DebianKernel.allSuites.map { "deb \(mirror) \($0) main" }.joined(separator: "\n") + "\n"
    let old = try? String(contentsOfFile: sourcesList, encoding: .utf8)
    let stamp = directory + "/updated"
    if old == list, let attrs = try? fm.attributesOfItem(atPath: stamp), let date = attrs[.modificationDate] as? Date,
      Date().timeIntervalSince(date) < maxAgeSeconds
    {
      return
    }
    try? Data(list.utf8).write(to: URL(fileURLWithPath: sourcesList))
    log("apt-get update (\(DebianKernel.allSuites.joined(separator: ", ")) via \(mirror))")
    let r = try run(["apt-get"] + options + ["update", "-q"])
    guard r.exit.succeeded else { throw .setup("apt-get update failed: \(r.stderr.suffix(600))") }
    _ = fm.createFile(atPath: stamp, contents: Data())
  }

  /// (version, suite) rows of `apt-cache madison`, newest first.
  func versions(of package: String) throws(LabError) -> [(version: String, suite: String)] {
    let r = try run(["apt-cache"] + options + ["madison", package])
    return r.stdout.split(separator: "\n").compactMap { line in
      let cols = line.split(separator: "|").map { $0.trimmingCharacters(in: " ") }
      guard cols.count >= 3 else { return nil }
      let suite = cols[2].split(separator: " ").dropFirst().first?.split(separator: "/").first.map(String.init) ?? ""
      return (cols[1], suite)
    }
  }

  /// The exact-version dependencies (`name (= version)`) of one version of a package.
  func exactDependencies(of package: String, version: String) throws(LabError) -> [String: String] {
    let r = try run(["apt-cache"] + options + ["show", "\(package)=\(version)"])
    guard r.exit.succeeded else { throw .setup("apt-cache show \(package)=\(version): \(r.stderr)") }
    var out: [String: String] = [:]
    guard let depends = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("Depends:") }) else { return out }
    for alt in depends.dropFirst("Depends:".count).split(separator: ",") {
      let dep = alt.split(separator: "|").first!.trimmingCharacters(in: " ")
      guard let open = dep.firstIndex(of: "("), dep.contains("(= ") else { continue }
      let name = dep[..<open].trimmingCharacters(in: " ")
      let v = dep[dep.index(open, offsetBy: 3)...].trimmingCharacters(in: " )")
      out[name] = v
    }
    return out
  }

  /// The `Size:` of one version of a package (bytes of its .deb).
  func size(of package: String, version: String) -> Int? {
    guard let r = try? run(["apt-cache"] + options + ["show", "\(package)=\(version)"]), r.exit.succeeded else { return nil }
    return r.stdout.split(separator: "\n").first { $0.hasPrefix("Size:") }.flatMap { Int($0.dropFirst(5).trimmingCharacters(in: " ")) }
  }

  /// `apt-get download name=version` into `dir`; returns the .deb's path. apt writes the .deb
  /// there under its final name as it arrives, so its size is the download's progress.
  func download(_ package: String, version: String, into dir: String) throws(LabError) -> String {
    let total = size(of: package, version: version)
    log("apt-get download \(package)=\(version)\(total.map { " (\(megabytes($0)))" } ?? "")")
    let scratch: String
    do { scratch = try HostProcess.scratchDirectory() } catch { throw .setup("\(error)") }
    defer { HostProcess.removeTree(scratch) }
    let pid: pid_t
    do {
      pid = try HostProcess.spawn(
        ["apt-get"] + options + ["download", "-q", "\(package)=\(version)"], stdout: scratch + "/out", stderr: scratch + "/err",
        workingDirectory: dir)
    } catch {
      throw .setup("\(error)")
    }
    let exit = Self.follow(pid: pid, dir: dir, package: package, total: total, progress: progress ?? .lines(log))
    let debs = Self.debs(of: package, in: dir)
    guard exit.succeeded, let deb = debs.first else {
      throw .setup("apt-get download \(package)=\(version) failed: \((HostProcess.readFile(scratch + "/err") ?? "").suffix(600))")
    }
    return dir + "/" + deb
  }

  static func debs(of package: String, in dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") }
  }

  /// Waits for a download, showing the bytes so far (`12.5 of 70.1 MB (17%)`).
  static func follow(pid: pid_t, dir: String, package: String, total: Int?, progress: ProgressSink, poll: Double = 0.5) -> HostProcess.Exit {
    let throttle = progress.step()
    while true {
      if let exit = HostProcess.poll(pid) { return exit }
      let bytes = debs(of: package, in: dir).compactMap { Initramfs.size(dir + "/" + $0) }.reduce(0, +)
      throttle.update("downloading \(package): " + downloaded(bytes, of: total))
      usleep(useconds_t(poll * 1e6))
    }
  }

  /// `12.5 of 70.1 MB (17%)`, or `12.5 MB` without a total.
  static func downloaded(_ bytes: Int, of total: Int?) -> String {
    guard let total, total > 0 else { return megabytes(bytes) }
    return "\(megabytes(bytes).dropLast(3)) of \(megabytes(total)) (\(min(100, bytes * 100 / total))%)"
  }

  private func run(_ argv: [String], in dir: String? = nil) throws(LabError) -> HostProcess.Output {
    do { return try HostProcess.run(argv, workingDirectory: dir) } catch { throw .setup("\(error)") }
  }
}
