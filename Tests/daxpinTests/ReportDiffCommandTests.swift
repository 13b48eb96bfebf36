import DaxPinCore
import Foundation
import Testing

@Suite("daxpin report diff, end to end")
struct ReportDiffCommandTests {
  /// Saved fake reports of two profiles.
  static func pair(_ files: MatrixFiles, _ old: String, _ new: String) throws -> (String, String) {
    let a = try files.write("\(old).json", Run.daxpin(["probe", "--backend", "fake", "--profile", old, "--json"]).stdout)
    let b = try files.write("\(new).json", Run.daxpin(["probe", "--backend", "fake", "--profile", new, "--json"]).stdout)
    return (a, b)
  }

  /// Standard input can be read once: `- -` is refused with the reason, not "not valid JSON".
  @Test func standardInputTwiceIsRefused() throws {
    let r = try Run.daxpin(["report", "diff", "-", "-"], stdin: "/dev/null")
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: report diff: standard input (-) given as both OLD and NEW; give at least one as a file\n")
  }

  @Test func upgradeFrom61To612ListsTheChangedCellsAndExits1() throws {
    let files = try MatrixFiles()
    let (old, new) = try Self.pair(files, "linux-6.1", "linux-6.12")
    let r = try Run.daxpin(["report", "diff", old, new])
    #expect(r.status == 1)
    #expect(r.stderr.isEmpty)
    // What the lab measured on Debian 6.1 → 6.12 (README, "What the lab has measured").
    #expect(
      r.stdout == """
        SIMULATED: fake backend reports, not a real kernel's answers
        old: 6.1.176-daxpin-fake on daxpin-fake
        new: 6.12.107-daxpin-fake on daxpin-fake
        vfio-type1.pagecache-shared.rw: pinned → refused EFAULT
        vfio-type1v2.pagecache-shared.rw: pinned → refused EFAULT
        io_uring.pagecache-shared.rw: refused EOPNOTSUPP → refused EFAULT
        io_uring.pagecache-private.rw: refused EOPNOTSUPP → pinned
        io_uring.fsdax-ext4-private-cow.rw: refused EOPNOTSUPP → pinned
        io_uring.fsdax-xfs-private-cow.rw: refused EOPNOTSUPP → pinned
        io_uring.devdax.rw: refused EOPNOTSUPP → pinned
        rdma.hugetlb-2m.ro: refused EFAULT → pinned
        rdma.memfd.ro: refused EFAULT → pinned
        rdma.tmpfs-shared.ro: refused EFAULT → pinned
        rdma.pagecache-shared.rw: pinned → refused EFAULT
        rdma.pagecache-shared.ro: refused EFAULT → pinned
        rdma.fsdax-ext4-private-cow.ro: refused EOPNOTSUPP → pinned
        rdma.fsdax-xfs-private-cow.ro: refused EOPNOTSUPP → pinned
        rdma.devdax.ro: refused EFAULT → pinned
        af_xdp.pagecache-shared.rw: pinned → refused EFAULT
        16 of \(fullRunCells) cells changed

        """)
    let json = try Run.daxpin(["report", "diff", "--json", old, new])
    #expect(json.status == 1)
    let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(object["schema"] as? String == "daxpin/diff")
    #expect(object["simulated"] as? Bool == true)
    #expect(object["compared"] as? Int == fullRunCells)
    let changes = try #require(object["changes"] as? [[String: Any]])
    #expect(changes.count == 16)
    let first = changes[0]
    #expect(first["id"] as? String == "vfio-type1.pagecache-shared.rw")
    #expect((first["old"] as? [String: Any])?["outcome"] as? String == "pinned")
    #expect((first["old"] as? [String: Any])?["errno_name"] == nil, "absent facts are omitted, never null")
    #expect((first["new"] as? [String: Any])?["errno_name"] as? String == "EFAULT")
  }

  @Test func verdictsAreShownWhenTheyChange() throws {
    let files = try MatrixFiles()
    let (old, new) = try Self.pair(files, "linux-4.14", "linux-5.10")
    let r = try Run.daxpin(["report", "diff", old, new])
    #expect(r.status == 1)
    #expect(r.stdout.contains("vfio-type1v2.fsdax-ext4-shared.rw: pinned → refused EOPNOTSUPP [fail UNSAFE → pass]\n"))
  }

  @Test func noChangeExits0() throws {
    let files = try MatrixFiles()
    let path = try files.write("a.json", files.fakeText)
    let r = try Run.daxpin(["report", "diff", path, path])
    #expect(r.status == 0)
    #expect(r.stdout.hasSuffix("no cell changed (\(fullRunCells) compared)\n"))
    let json = try Run.daxpin(["report", "diff", "--json", path, path])
    #expect(json.status == 0)
    #expect(json.stdout.contains("\"changes\" : [\n\n  ]") || json.stdout.contains("\"changes\" : []"))
  }

  @Test func aProbeOnlyOneReportHasIsAbsentOnTheOtherSide() throws {
    let files = try MatrixFiles()
    let narrow = try files.write(
      "narrow.json", Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--interface", "io_uring", "--kind", "anon", "--json"]).stdout)
    let wide = try files.write(
      "wide.json", Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.1", "--interface", "io_uring", "--kind", "anon", "--kind", "memfd", "--json"]).stdout)
    let r = try Run.daxpin(["report", "diff", narrow, wide])
    #expect(r.status == 1)
    #expect(r.stdout.contains("io_uring.memfd.rw: absent → pinned [- → pass]\n"))
    #expect(r.stdout.contains("io_uring.memfd.ro: absent → refused EFAULT [- → pass]\n"))
    #expect(r.stdout.hasSuffix("2 of 4 cells changed\n"))
  }

  @Test func simulatedAndRealAreNeverCompared() throws {
    let files = try MatrixFiles()
    let fake = try files.write("fake.json", files.fakeText)
    let real = try files.write("real.json", json: files.real)
    let r = try Run.daxpin(["report", "diff", fake, real])
    #expect(r.status == 2)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr == "daxpin: report diff: \(fake) is simulated (fake backend) but \(real) is real: cannot compare them\n")
    let missing = try Run.daxpin(["report", "diff", fake, files.dir + "/absent.json"])
    #expect(missing.status == 2)
    #expect(missing.stderr == "daxpin: report diff: \(files.dir)/absent.json: ENOENT\n")
  }

  @Test func untrustedTextStaysOnOneLine() throws {
    let files = try MatrixFiles()
    var json = try files.real
    json["host"] = ["hostname": "evil\nvfio-type1.anon.rw: pinned → refused EPERM", "arch": "x86_64"]
    let a = try files.write("a.json", json: json)
    json = try MatrixFiles.editProbe(json, 0) { p in
      p["outcome"] = "refused"
      p["errno"] = 1
    }
    let b = try files.write("b.json", json: json)
    let r = try Run.daxpin(["report", "diff", a, b])
    #expect(r.status == 1)
    let lines = r.stdout.split(separator: "\n")
    #expect(lines.count == 4)
    #expect(lines[0] == "old: 6.1.0-50-amd64 on evil␊vfio-type1.anon.rw: pinned → refused EPERM")
    #expect(lines[2] == "vfio-type1.anon.rw: pinned → refused EPERM")
  }
}
