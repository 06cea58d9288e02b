//! The benchmarks' extract-domain inputs.

/// Realistic inputs: URLs, e-mail addresses and host names, mixed case, some IDN and junk.
pub fn corpus(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 10 {
            0 => format!("https://WWW.Company{i}.co.uk/about?ref=x"),
            1 => format!("jane.doe{i}@Mail.Example{}.com", i % 97),
            2 => format!("shop{i}.example.de"),
            3 => format!("http://user:pw@api{i}.service.com.au:8443/v1"),
            4 => format!("www.firma{i}.com.br"),
            5 => format!("https://blog{i}.github.io/post"),
            6 => format!("sub.{i}.example.kawasaki.jp"),
            7 => format!("info@食狮{}.com.cn", i % 50),
            8 => format!("Example{i}.ORG."),
            _ => format!("not a url {i}"),
        })
        .collect()
}
