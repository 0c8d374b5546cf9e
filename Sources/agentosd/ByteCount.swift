import ArgumentParser

/// A size in bytes on the command line: digits with an optional binary unit,
/// K, M or G (KiB, MiB, GiB also read), as in `--kv-cache-budget 512M`.
struct ByteCount: ExpressibleByArgument, Equatable {
    let bytes: Int

    init?(argument: String) {
        let units: [(suffix: String, shift: Int)] = [("KiB", 10), ("MiB", 20), ("GiB", 30), ("K", 10), ("M", 20), ("G", 30)]
        var digits = Substring(argument)
        var shift = 0
        if let unit = units.first(where: { argument.hasSuffix($0.suffix) }) {
            digits = digits.dropLast(unit.suffix.count)
            shift = unit.shift
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits), number <= Int.max >> shift else { return nil }
        bytes = number << shift
    }
}
