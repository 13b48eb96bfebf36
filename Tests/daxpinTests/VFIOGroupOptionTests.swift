import Testing

/// A VFIO group is a number 0 or more (`/dev/vfio/N`): `--vfio-group=-1` used to be taken, and the
/// run went on to open `/dev/vfio/-1`.
extension ProbeCommandTests {
  @Test(arguments: [["--vfio-group=-1"], ["--backend", "fake", "--vfio-group=-7"]])
  func aNegativeVFIOGroupIsAUsageError(_ options: [String]) throws {
    let r = try Run.daxpin(["probe", "--interface", "vfio-type1", "--kind", "anon"] + options)
    #expect(r.status == 64)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr.split(separator: "\n").first == "Error: --vfio-group takes a group number, 0 or more (/dev/vfio/N)")
  }
}
