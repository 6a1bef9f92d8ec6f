/// UTC calendar arithmetic for option expiries and symbols, without Foundation.
///
/// Expiries follow the exchange convention: Fridays at 08:00 UTC. Dates use Howard Hinnant's civil-calendar
/// algorithms on days since 1970-01-01.
enum ExpiryCalendar {
    static let dayMicros: Int64 = 86_400 * 1_000_000
    static let hourMicros: Int64 = 3_600 * 1_000_000

    /// The two expiries of the option chain for a feed starting at `startMicros`: the first Friday 08:00 UTC at
    /// least two days after the start, and the last Friday 08:00 UTC of the month three weeks after that.
    static func expiries(after startMicros: Int64) -> (near: Int64, far: Int64) {
        let near = firstFriday(atOrAfter: startMicros + 2 * dayMicros)
        let target = civil(fromDays: floorDivide(near + 21 * dayMicros, dayMicros))
        var far = lastFriday(year: target.year, month: target.month)
        if far <= near + 7 * dayMicros {
            let next = target.month == 12 ? (target.year + 1, 1) : (target.year, target.month + 1)
            far = lastFriday(year: next.0, month: next.1)
        }
        return (near, far)
    }

    /// The expiry part of an option symbol, e.g. `28NOV25` (day without padding, as Deribit spells it).
    static func symbolDate(_ micros: Int64) -> String {
        let names = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let date = civil(fromDays: floorDivide(micros, dayMicros))
        let year = ((date.year % 100) + 100) % 100
        return "\(date.day)\(names[date.month - 1])\(year < 10 ? "0" : "")\(year)"
    }

    /// The first Friday 08:00 UTC at or after `micros`.
    static func firstFriday(atOrAfter micros: Int64) -> Int64 {
        let day = floorDivide(micros, dayMicros)
        var candidate = (day + Int64((5 - weekday(day) + 7) % 7)) * dayMicros + 8 * hourMicros
        if candidate < micros { candidate += 7 * dayMicros }
        return candidate
    }

    /// The last Friday 08:00 UTC of a month.
    static func lastFriday(year: Int64, month: Int) -> Int64 {
        let next = month == 12 ? days(year: year + 1, month: 1, day: 1) : days(year: year, month: month + 1, day: 1)
        let last = next - 1
        return (last - Int64((weekday(last) - 5 + 7) % 7)) * dayMicros + 8 * hourMicros
    }

    /// The day of the week, 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday).
    static func weekday(_ days: Int64) -> Int { Int(((days % 7) + 7 + 4) % 7) }

    /// The proleptic Gregorian date of a day number.
    static func civil(fromDays dayNumber: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), Int(month), Int(day))
    }

    /// The day number of a proleptic Gregorian date.
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Division rounding toward negative infinity.
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }
}
