//! How far apart two texts are: the edit distance the header resolution uses
//! to name the closest property of an unknown column.

/// The Levenshtein distance between `a` and `b` in characters: the fewest
/// single-character insertions, deletions and substitutions that turn one
/// into the other. Linear memory; `O(len(a) × len(b))` time.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // previous[j]: the distance between the first i-1 characters of `a` and
    // the first j of `b`.
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current[j + 1] = substitute.min(delete).min(insert);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        for (a, b, expected) in [
            ("", "", 0),
            ("abc", "", 3),
            ("", "abc", 3),
            ("email", "email", 0),
            ("emial", "email", 2),
            ("first_name", "firstname", 1),
            ("kitten", "sitting", 3),
            ("frist name", "first name", 2),
            ("café", "cafe", 1),
            ("zip", "phone", 5),
        ] {
            assert_eq!(edit_distance(a, b), expected, "{a:?} {b:?}");
            assert_eq!(edit_distance(b, a), expected, "{b:?} {a:?}");
        }
    }
}
