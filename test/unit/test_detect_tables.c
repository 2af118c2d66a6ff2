/* Detector tables: true positives with exact spans and entity, and a corpus of tricky benign
 * text (dates, times, versions, order ids, Luhn-invalid runs, UUIDs, hashes, code...) that must
 * produce no match at all with every detector enabled. */
#include <string.h>

#include "kt/common.h"
#include "kt/detect.h"
#include "kt_test.h"

typedef struct pos_case {
    const char *text;
    kt_entity ent;
    const char *span; /* the exact matched bytes; they occur once in text */
} pos_case;

static const pos_case kt_pos[] = {
    /* email */
    {"mail john.doe@example.com.", KT_ENT_EMAIL, "john.doe@example.com"},
    {"<jane_doe+tag@mail.example.co.uk>", KT_ENT_EMAIL, "jane_doe+tag@mail.example.co.uk"},
    {"a@b.io", KT_ENT_EMAIL, "a@b.io"},
    {"cc: first.last@sub-domain.example.org, thanks", KT_ENT_EMAIL, "first.last@sub-domain.example.org"},
    {"UPPER@EXAMPLE.COM", KT_ENT_EMAIL, "UPPER@EXAMPLE.COM"},
    {"\"email\":\"user123@example.museum\"", KT_ENT_EMAIL, "user123@example.museum"},
    {"mailto:x%y@ex-ample.net?subject=hi", KT_ENT_EMAIL, "x%y@ex-ample.net"},
    {"\xe9\x82\xae\xe7\xae\xb1" "bob@example.cn\xe3\x80\x82", KT_ENT_EMAIL, "bob@example.cn"},
    /* phone */
    {"call (415) 555-2671 now", KT_ENT_PHONE, "(415) 555-2671"},
    {"tel: 415-555-2671", KT_ENT_PHONE, "415-555-2671"},
    {"415.555.2671 is the office", KT_ENT_PHONE, "415.555.2671"},
    {"US +1 415 555 2671.", KT_ENT_PHONE, "+1 415 555 2671"},
    {"+1-415-555-2671", KT_ENT_PHONE, "+1-415-555-2671"},
    {"whatsapp +14155552671", KT_ENT_PHONE, "+14155552671"},
    {"toll free 1-800-234-5678", KT_ENT_PHONE, "1-800-234-5678"},
    {"London +44 20 7946 0958", KT_ENT_PHONE, "+44 20 7946 0958"},
    {"Paris +33 1 23 45 67 89!", KT_ENT_PHONE, "+33 1 23 45 67 89"},
    {"Tokyo: +81-3-1234-5678", KT_ENT_PHONE, "+81-3-1234-5678"},
    {"(212)456-7890", KT_ENT_PHONE, "(212)456-7890"},
    {"+1 (646) 555-3890 ext 2", KT_ENT_PHONE, "+1 (646) 555-3890 ext 2"},
    /* phone: extensions are part of the match */
    {"desk (415) 555-2671 x123.", KT_ENT_PHONE, "(415) 555-2671 x123"},
    {"415-555-2671x7 or", KT_ENT_PHONE, "415-555-2671x7"},
    {"call 415.555.2671 ext. 45 today", KT_ENT_PHONE, "415.555.2671 ext. 45"},
    {"+1 415 555 2671, extension 9001", KT_ENT_PHONE, "+1 415 555 2671, extension 9001"},
    {"tel:+1-415-555-2671;ext=12", KT_ENT_PHONE, "+1-415-555-2671;ext=12"},
    {"+44 20 7946 0958 ext 204", KT_ENT_PHONE, "+44 20 7946 0958 ext 204"},
    /* phone: E.164 with the trunk mark */
    {"London +44 (0)20 7946 0958.", KT_ENT_PHONE, "+44 (0)20 7946 0958"},
    {"+49(0)30 12345678", KT_ENT_PHONE, "+49(0)30 12345678"},
    {"+33.1.23.45.67.89", KT_ENT_PHONE, "+33.1.23.45.67.89"},
    /* phone: national formats */
    {"Berlin 030 12345678.", KT_ENT_PHONE, "030 12345678"},
    {"mobil (0171) 123 4567", KT_ENT_PHONE, "(0171) 123 4567"},
    {"Tel. 089/1234567", KT_ENT_PHONE, "089/1234567"},
    {"Paris 01 23 45 67 89", KT_ENT_PHONE, "01 23 45 67 89"},
    {"portable 06.12.34.56.78,", KT_ENT_PHONE, "06.12.34.56.78"},
    {"London 020 7946 0958", KT_ENT_PHONE, "020 7946 0958"},
    {"mobile 07700 900123", KT_ENT_PHONE, "07700 900123"},
    {"Manchester 0161 496 0000 ext. 12", KT_ENT_PHONE, "0161 496 0000 ext. 12"},
    {"Mumbai 98765 43210", KT_ENT_PHONE, "98765 43210"},
    {"Delhi 011-23456789", KT_ENT_PHONE, "011-23456789"},
    {"Madrid 912 345 678", KT_ENT_PHONE, "912 345 678"},
    {"movil 612 34 56 78", KT_ENT_PHONE, "612 34 56 78"},
    {"Roma 06 1234 5678", KT_ENT_PHONE, "06 1234 5678"},
    {"cell 347 123 4567", KT_ENT_PHONE, "347 123 4567"},
    {"Amsterdam 020 123 4567", KT_ENT_PHONE, "020 123 4567"},
    {"mobiel 06-12345678", KT_ENT_PHONE, "06-12345678"},
    {"Sydney (02) 9876 5432", KT_ENT_PHONE, "(02) 9876 5432"},
    {"mobile 0412 345 678", KT_ENT_PHONE, "0412 345 678"},
    {"Sao Paulo (11) 91234-5678", KT_ENT_PHONE, "(11) 91234-5678"},
    {"Tokyo 03-1234-5678", KT_ENT_PHONE, "03-1234-5678"},
    {"keitai 090-1234-5678", KT_ENT_PHONE, "090-1234-5678"},
    /* ssn */
    {"ssn 123-45-6789 ok", KT_ENT_SSN, "123-45-6789"},
    {"SSN: 078-05-1120", KT_ENT_SSN, "078-05-1120"},
    {"(219-09-9999)", KT_ENT_SSN, "219-09-9999"},
    {"id 536 22 1234.", KT_ENT_SSN, "536 22 1234"},
    {"SSN: 123456789", KT_ENT_SSN, "123456789"},
    {"ssn#536221234,", KT_ENT_SSN, "536221234"},
    {"Social Security Number 078051120", KT_ENT_SSN, "078051120"},
    {"social security no. 219099999.", KT_ENT_SSN, "219099999"},
    /* credit card */
    {"card 4111 1111 1111 1111 exp 12/27", KT_ENT_CREDIT_CARD, "4111 1111 1111 1111"},
    {"4111111111111111", KT_ENT_CREDIT_CARD, "4111111111111111"},
    {"mc 5555-5555-5555-4444.", KT_ENT_CREDIT_CARD, "5555-5555-5555-4444"},
    {"2223003122003222", KT_ENT_CREDIT_CARD, "2223003122003222"},
    {"amex 3782 822463 10005", KT_ENT_CREDIT_CARD, "3782 822463 10005"},
    {"371449635398431", KT_ENT_CREDIT_CARD, "371449635398431"},
    {"discover:6011111111111117", KT_ENT_CREDIT_CARD, "6011111111111117"},
    {"jcb 3530 1113 3330 0000", KT_ENT_CREDIT_CARD, "3530 1113 3330 0000"},
    {"jcb 3566002020360505", KT_ENT_CREDIT_CARD, "3566002020360505"},
    {"jcb15 213100001234005", KT_ENT_CREDIT_CARD, "213100001234005"},
    {"jcb15 2131 0000 1234 005", KT_ENT_CREDIT_CARD, "2131 0000 1234 005"},
    {"jcb15 180000000000002", KT_ENT_CREDIT_CARD, "180000000000002"},
    {"diners 3056 930902 5904", KT_ENT_CREDIT_CARD, "3056 930902 5904"},
    {"unionpay 6200000000000005", KT_ENT_CREDIT_CARD, "6200000000000005"},
    {"visa13 4222222222222", KT_ENT_CREDIT_CARD, "4222222222222"},
    {"maestro 6759649826438453;", KT_ENT_CREDIT_CARD, "6759649826438453"},
    {"\"pan\":\"4012888888881881\"", KT_ENT_CREDIT_CARD, "4012888888881881"},
    /* iban */
    {"iban DE89 3704 0044 0532 0130 00 ok", KT_ENT_IBAN, "DE89 3704 0044 0532 0130 00"},
    {"GB82WEST12345698765432", KT_ENT_IBAN, "GB82WEST12345698765432"},
    {"FR1420041010050500013M02606.", KT_ENT_IBAN, "FR1420041010050500013M02606"},
    {"ES91 2100 0418 4502 0005 1332", KT_ENT_IBAN, "ES91 2100 0418 4502 0005 1332"},
    {"IT60X0542811101000000123456", KT_ENT_IBAN, "IT60X0542811101000000123456"},
    {"NL91ABNA0417164300", KT_ENT_IBAN, "NL91ABNA0417164300"},
    {"BE68 5390 0754 7034", KT_ENT_IBAN, "BE68 5390 0754 7034"},
    {"CH9300762011623852957", KT_ENT_IBAN, "CH9300762011623852957"},
    {"AT611904300234573201", KT_ENT_IBAN, "AT611904300234573201"},
    {"IE29 AIBK 9311 5212 3456 78", KT_ENT_IBAN, "IE29 AIBK 9311 5212 3456 78"},
    {"PL61109010140000071219812874", KT_ENT_IBAN, "PL61109010140000071219812874"},
    {"SE4550000000058398257466", KT_ENT_IBAN, "SE4550000000058398257466"},
    {"DK5000400440116243", KT_ENT_IBAN, "DK5000400440116243"},
    {"NO9386011117947", KT_ENT_IBAN, "NO9386011117947"},
    {"FI2112345600000785", KT_ENT_IBAN, "FI2112345600000785"},
    {"PT50000201231234567890154", KT_ENT_IBAN, "PT50000201231234567890154"},
    {"LU280019400644750000", KT_ENT_IBAN, "LU280019400644750000"},
    {"RU0304452522540817810538091310419", KT_ENT_IBAN, "RU0304452522540817810538091310419"},
    {"RU03 0445 2522 5408 1781 0538 0913 1041 9 ok", KT_ENT_IBAN,
     "RU03 0445 2522 5408 1781 0538 0913 1041 9"},
    {"MN181234567890123456", KT_ENT_IBAN, "MN181234567890123456"},
    {"LY83002048000020100120361", KT_ENT_IBAN, "LY83002048000020100120361"},
    /* ipv4 */
    {"host 192.168.1.1 is up", KT_ENT_IPV4, "192.168.1.1"},
    {"10.0.0.1:8080", KT_ENT_IPV4, "10.0.0.1"},
    {"net 172.16.254.3/24", KT_ENT_IPV4, "172.16.254.3"},
    {"dns=8.8.8.8,", KT_ENT_IPV4, "8.8.8.8"},
    {"255.255.255.255", KT_ENT_IPV4, "255.255.255.255"},
    {"version 1.2.3.4", KT_ENT_IPV4, "1.2.3.4"},
    /* ipv6 */
    {"2001:0db8:85a3:0000:0000:8a2e:0370:7334", KT_ENT_IPV6, "2001:0db8:85a3:0000:0000:8a2e:0370:7334"},
    {"addr 2001:db8::8a2e:370:7334.", KT_ENT_IPV6, "2001:db8::8a2e:370:7334"},
    {"link fe80::1%eth0", KT_ENT_IPV6, "fe80::1"},
    {"loopback ::1", KT_ENT_IPV6, "::1"},
    {"mapped ::ffff:192.0.2.128 here", KT_ENT_IPV6, "::ffff:192.0.2.128"},
    {"[2001:db8::1]:443", KT_ENT_IPV6, "2001:db8::1"},
    {"2001:db8:0:0:1:0:0:1", KT_ENT_IPV6, "2001:db8:0:0:1:0:0:1"},
    {"abcd:ef01:2345:6789:abcd:ef01:2345:6789", KT_ENT_IPV6, "abcd:ef01:2345:6789:abcd:ef01:2345:6789"},
    /* api keys */
    {"OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL", KT_ENT_API_KEY,
     "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL"},
    {"key: sk-proj-Ab3dEf_Gh1jKlMn0pQrStUvWxYz-12345", KT_ENT_API_KEY,
     "sk-proj-Ab3dEf_Gh1jKlMn0pQrStUvWxYz-12345"},
    {"'sk-ant-api03-AbCdEfGhIjKlMnOp0123456789qrstuvwxyz-_AA'", KT_ENT_API_KEY,
     "sk-ant-api03-AbCdEfGhIjKlMnOp0123456789qrstuvwxyz-_AA"},
    {"token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 used", KT_ENT_API_KEY,
     "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"},
    {"gho_16C7e42F292c6912E7710c838347Ae178B4a", KT_ENT_API_KEY,
     "gho_16C7e42F292c6912E7710c838347Ae178B4a"},
    {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", KT_ENT_API_KEY,
     "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"},
    {"slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", KT_ENT_API_KEY,
     "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
    {"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", KT_ENT_API_KEY, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
    {"rk_live_51H8abcDEF0123456789xyz", KT_ENT_API_KEY, "rk_live_51H8abcDEF0123456789xyz"},
    {"maps AIzaSyA1234567890abcdefghijklmnopqrstuv ok", KT_ENT_API_KEY,
     "AIzaSyA1234567890abcdefghijklmnopqrstuv"},
    {"SLACK_APP_TOKEN=xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef", KT_ENT_API_KEY,
     "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef"},
    {"url https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D4/aBcDeFgHiJkLmNoPqRsTuVwX ok",
     KT_ENT_API_KEY, "hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D4/aBcDeFgHiJkLmNoPqRsTuVwX"},
    /* cloud keys */
    {"aws_access_key_id = AKIAIOSFODNN7EXAMPLE", KT_ENT_CLOUD_KEY, "AKIAIOSFODNN7EXAMPLE"},
    {"aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     KT_ENT_CLOUD_KEY, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
    {"Soc. Sec. No. 219099999 attached", KT_ENT_SSN, "219099999"},
    {"\"ASIAY34FZKBOKMUTVV7A\"", KT_ENT_CLOUD_KEY, "ASIAY34FZKBOKMUTVV7A"},
    {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", KT_ENT_CLOUD_KEY,
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
    {"export AWS_SECRET_ACCESS_KEY=\"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\"", KT_ENT_CLOUD_KEY,
     "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"},
    {"{\"aws_secret_key\": \"Zx8+3kLm0PqRsTuVwXyZaBcDeFgHiJkLmNoPqRs1\"}", KT_ENT_CLOUD_KEY,
     "Zx8+3kLm0PqRsTuVwXyZaBcDeFgHiJkLmNoPqRs1"},
    /* private keys */
    {"x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----\ny",
     KT_ENT_PRIVATE_KEY,
     "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----"},
    {"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----", KT_ENT_PRIVATE_KEY,
     "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----"},
    {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
     KT_ENT_PRIVATE_KEY,
     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"},
    {"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrY", KT_ENT_PRIVATE_KEY,
     "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrY"},
    /* jwt */
    {"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c.",
     KT_ENT_JWT,
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
    {"id_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end", KT_ENT_JWT, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."},
    /* bearer */
    {"Authorization: Bearer abcdef0123456789ABCDEF", KT_ENT_BEARER, "abcdef0123456789ABCDEF"},
    {"authorization: bearer Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==\r\n", KT_ENT_BEARER,
     "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="},
    {"curl -H \"Authorization: Bearer sk-abcdefghijklmnopqrstuvwx0123\"", KT_ENT_BEARER,
     "sk-abcdefghijklmnopqrstuvwx0123"},
};

static const char *const kt_benign[] = {
    /* identifiers shaped like national phone numbers, after a label that says what they are */
    "case number 0462 019 9220", "parcel 03621 459362 is in transit", "batch 050 8782 7221 queued",
    "Auftrag 0462 019 9220 erfasst", "copied 0161 688 3540 bytes",
    /* a placeholder key id */
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
    /* dates and times */
    "The meeting is on 2024-01-15 at 10am.",
    "Due 01/15/2024, paid 02/01/2024.",
    "Datum: 15.01.2024, Uhrzeit 14.30",
    "timestamp 2024-01-15T12:30:45Z and 2024-01-15T12:30:45.123+05:30",
    "It started at 12:30:45 and ended at 13:05.",
    "Run took 00:01:23.456",
    "2024/01/15 09:00",
    "Jan 15, 2024 - Feb 28, 2025",
    /* versions */
    "Upgrade from 1.2.3 to 1.2.4",
    "kernel v10.2.0.1 released",
    "libfoo 2.28.3-1 (Debian)",
    "python3.11.4, node v20.10.0, go1.21.5",
    "Version 1.2.3.4.5 is not an address",
    "semver 0.0.1-alpha.1+build.5",
    "ubuntu 22.04.3 LTS",
    /* order numbers, invoices, ids */
    "Order ORD-2024-123456 shipped",
    "Invoice #123456789 is overdue",
    "INV-2023-0042-17 and PO 4500012345",
    "ticket JIRA-12345, build 987654",
    "tracking 1Z999AA10123456784",
    "customer id 100200300400",
    /* digit runs that are not cards */
    "Card 4111111111111112 declined (bad checksum)",
    "number 1234567812345678",
    "0000 0000 0000 0000",
    "9999999999999999999",
    "ref 41111111111111111111",
    "order #4111111111111111x",
    "4111-1111-1111-1111-2222",
    "pi = 3.14159265358979323846",
    "avogadro 602214076000000000000000",
    /* uuids, hashes, isbn */
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "commit d41d8cd98f00b204e9800998ecf8427e",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "ISBN 978-3-16-148410-0",
    "ISBN-13: 9780306406157",
    "ISBN 0-306-40615-2",
    /* prices, quantities */
    "Total: $1,234.56 (tax 123.45)",
    "EUR 1.234.567,89",
    "Population 8,045,311,447",
    "values 1,234,567 and 12,345.67 and 999,999,999",
    /* invalid phones and zip codes */
    "call 123-456-7890",
    "call 555-123-4567",
    "fax (123) 456-7890",
    "zip 94105-1234",
    "ZIP 10001",
    "+0 123 456 789",
    "tiny +1234",
    /* ports and hosts */
    "localhost:8080 and 127.0.0.1.nip.io",
    "listen on :443 and :8443",
    "user@localhost",
    "reach me at admin@server",
    "@mention and @@ and a@ and @b.com",
    /* ssn-like invalid */
    "000-12-3456 is invalid",
    "666-12-3456 is invalid",
    "900-12-3456 is invalid",
    "123-00-4567 is invalid",
    "123-45-0000 is invalid",
    "123456789 bare digits",
    /* ip-like */
    "256.1.1.1 out of range",
    "01.02.03.04 leading zeros",
    "1.2.3 short",
    "a.1.2.3.4",
    /* ipv6-like code */
    "std::vector<int> v; Foo::Bar::baz();",
    "a::b and dead::beef",
    "x[1::2] and y[::-1] and z[::]",
    "mac 00:1a:2b:3c:4d:5e",
    "ratio 16:9 and 4:3",
    "Haskell f :: Int -> Int",
    /* dlp look-alikes */
    "pip install scikit-learn; import sk-learn-contrib-something-long",
    "task-force and desk-top and risk_live_stream",
    "sk-short",
    "ghp_short",
    "AKIA1234",
    "AKIAIOSFODNN7EXAMPLEX",
    "Bearer authentication-required-for-this",
    "bearer token",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
    "eyJ alone and eyJabc.def",
    "markdown |----|----|",
    "IBAN DE89 3704 0044 0532 0130 01 (bad checksum)",
    "XX89370400440532013000",
    "GB82 WEST 1234 5698 7654",
    "base64 QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTExMTExMTExMTExMTEx",
    /* national-looking numbers that are not phones */
    "Order 01234 567890 shipped",
    "invoice no. 020 7946 0958",
    "Ref: 0161-496-0000",
    "tracking # 06 12 34 56 78",
    "dated 06-05-2024 and 09.05.2024 10.30",
    "0000 0000 0000 0000 0000",
    "build 0.12.345 and 00 11 22 33 44",
    "room 12 34 56 and 10 20 30 40",
    "1234 5678 9012 3456 (no Luhn, no phone)",
    /* nine digits without an SSN label, and SSN labels before other numbers */
    "account 123456789 closed",
    "SSN: 000000000 and SSN 666123456",
    "the ssn field holds 12345678901",
    /* JWT-shaped strings that are not tokens */
    "eyJ1c2VyIjoiYm9iIn0.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJl",
    "eyJhbGciOiJIUzI1NiJ9xyzxyzxyz.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    /* secrets look-alikes */
    "aws_secret_access_key = <your secret here>",
    "aws_secret_access_key=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
    "secret_access_key: wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYTOOLONG",
    "hooks.slack.com/services/ and https://hooks.slack.com/services/T1/B2/short",
    "xapp-short and nonxapp-1-A0123456789-1234567890123-abcdef",
    /* card-valid groups inside a longer run of groups (an IBAN with a bad checksum) */
    "IBAN DE00 8574 3653 3939 2698 72 (bad checksum)",
};

static void expect_no_match(const char *text)
{
    kt_match m[4];
    int tr = 0;
    size_t n = kt_detect(text, strlen(text), KT_DETECT_ALL_MASK, m, 4, &tr);
    if (n) KT_FAILF("benign \"%s\": %s at %zu..%zu", text, kt_entity_name(m[0].ent), m[0].start, m[0].end);
}

KT_TEST(benign_corpus_has_no_match)
{
    KT_ASSERT(KT_ARRAY_LEN(kt_benign) >= 60);
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_benign); k++) expect_no_match(kt_benign[k]);
}

KT_TEST(benign_corpus_joined_has_no_match)
{
    char buf[8192];
    size_t len = 0;
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_benign); k++) {
        size_t n = strlen(kt_benign[k]);
        if (len + n + 2 > sizeof buf) break;
        memcpy(buf + len, kt_benign[k], n);
        len += n;
        buf[len++] = '\n';
    }
    kt_match m[4];
    KT_ASSERT_EQ_INT(kt_detect(buf, len, KT_DETECT_ALL_MASK, m, 4, NULL), 0);
}

KT_TEST(comma_lists_are_not_thousands_grouping)
{
    /* A comma glues digit groups only as "1,234"; lists of values (CSV, JSON arrays without
     * spaces) are found item by item. */
    static const struct {
        const char *text;
        kt_entity ent;
        const char *spans[3];
    } cases[] = {
        {"hosts 10.0.0.1,10.0.0.2", KT_ENT_IPV4, {"10.0.0.1", "10.0.0.2", NULL}},
        {"1.2.3.4,192.168.0.1;", KT_ENT_IPV4, {"1.2.3.4", "192.168.0.1", NULL}},
        {"cards 4111111111111111,5555555555554444", KT_ENT_CREDIT_CARD,
         {"4111111111111111", "5555555555554444", NULL}},
        {"name,4111111111111111,12/27", KT_ENT_CREDIT_CARD, {"4111111111111111", NULL, NULL}},
        {"ssn,123-45-6789,x", KT_ENT_SSN, {"123-45-6789", NULL, NULL}},
        {"[\"415-555-2671\",\"212-555-0188\"]", KT_ENT_PHONE, {"415-555-2671", "212-555-0188", NULL}},
    };
    for (size_t k = 0; k < KT_ARRAY_LEN(cases); k++) {
        const char *t = cases[k].text;
        kt_match m[4];
        size_t n = kt_detect(t, strlen(t), KT_DETECT_ALL_MASK, m, 4, NULL), want = 0;
        for (; want < 3 && cases[k].spans[want]; want++) {
            const char *at = strstr(t, cases[k].spans[want]);
            if (want >= n || m[want].ent != cases[k].ent || m[want].start != (size_t)(at - t) ||
                m[want].end != m[want].start + strlen(cases[k].spans[want]))
                KT_FAILF("case %zu \"%s\": item %zu not found", k, t, want);
        }
        KT_ASSERT_EQ_INT(n, want);
    }
}

KT_TEST(true_positives_exact_spans)
{
    KT_ASSERT(KT_ARRAY_LEN(kt_pos) >= 60);
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_pos); k++) {
        const pos_case *c = &kt_pos[k];
        const char *at = strstr(c->text, c->span);
        size_t len = strlen(c->text);
        kt_match m[4];
        int tr = 0;
        size_t n = kt_detect(c->text, len, KT_DETECT_ALL_MASK, m, 4, &tr);
        size_t want_s = (size_t)(at - c->text), want_e = want_s + strlen(c->span);
        if (n != 1 || m[0].ent != c->ent || m[0].start != want_s || m[0].end != want_e) {
            KT_FAILF("case %zu \"%s\": want %s %zu..%zu, got %zu match(es)%s%s %zu..%zu", k, c->text,
                     kt_entity_name(c->ent), want_s, want_e, n, n ? " " : "",
                     n ? kt_entity_name(m[0].ent) : "", n ? m[0].start : 0, n ? m[0].end : 0);
        }
        /* The entity's own bit alone finds it too; a mask without it finds nothing there (but a
         * bearer token may be a key, and a mapped ipv6 holds an ipv4). */
        KT_ASSERT_EQ_INT(kt_detect(c->text, len, KT_ENT_BIT(c->ent), m, 4, NULL), 1);
        n = kt_detect(c->text, len, KT_DETECT_ALL_MASK & ~KT_ENT_BIT(c->ent), m, 4, NULL);
        for (size_t j = 0; j < n && c->ent != KT_ENT_BEARER; j++)
            if (m[j].end > want_s && m[j].start < want_e &&
                !(c->ent == KT_ENT_IPV6 && m[j].ent == KT_ENT_IPV4)) /* "::ffff:1.2.3.4" */
                KT_FAILF("case %zu without its bit: %s %zu..%zu", k, kt_entity_name(m[j].ent),
                         m[j].start, m[j].end);
    }
}

/* An AWS secret access key is found within 48 bytes after its access key id, not beyond, and not
 * when it looks like a hex digest. */
KT_TEST(aws_secret_after_its_key_id)
{
    static const struct {
        const char *text;
        int secret;
    } cases[] = {
        {"AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1},
        {"id AKIAIOSFODNN7EXAMPLE, secret key is: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.", 1},
        {"AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI+K7MDENG+bPxRfiCYEXAMPLEKEY", 1},
        {"AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1},
        {"AKIAIOSFODNN7EXAMPLE commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", 0},
        {"AKIAIOSFODNN7EXAMPLE was rotated\nimage data: XG61caI4hLZZw+KOvRYbuBZoMsS8Go/UHSJ7xFdg", 0},
        {"AKIAIOSFODNN7EXAMPLE and then a long sentence that goes on and on and on and on "
         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 0},
    };
    for (size_t k = 0; k < KT_ARRAY_LEN(cases); k++) {
        const char *t = cases[k].text;
        kt_match m[4];
        size_t n = kt_detect(t, strlen(t), KT_DETECT_DLP_MASK, m, 4, NULL);
        if (n != 1u + (size_t)cases[k].secret) {
            KT_FAILF("case %zu: %zu matches", k, n);
            continue;
        }
        KT_ASSERT_EQ_INT(m[0].ent, KT_ENT_CLOUD_KEY);
        if (n == 2) {
            KT_ASSERT_EQ_INT(m[1].ent, KT_ENT_CLOUD_KEY);
            KT_ASSERT_EQ_INT(m[1].end - m[1].start, 40);
            KT_ASSERT(strncmp(t + m[1].start, "wJalrXUtnFEMI", 13) == 0);
        }
    }
}

/* Region bits choose the national formats; no region bit means all; REGIONS_SET alone means
 * E.164 only. */
KT_TEST(phone_regions_select_national_formats)
{
    static const struct {
        const char *text;
        kt_region region;
    } cases[] = {
        {"030 12345678", KT_REGION_DE}, {"01 23 45 67 89", KT_REGION_FR},
        {"020 7946 0958", KT_REGION_GB}, {"98765 43210", KT_REGION_IN},
        {"612 34 56 78", KT_REGION_ES}, {"347 123 4567", KT_REGION_IT},
        {"06-12345678", KT_REGION_NL}, {"0412 345 678", KT_REGION_AU},
        {"(11) 91234-5678", KT_REGION_BR}, {"03-1234-5678", KT_REGION_JP},
        {"(415) 555-2671", KT_REGION_US},
    };
    uint32_t ph = KT_ENT_BIT(KT_ENT_PHONE);
    for (size_t k = 0; k < KT_ARRAY_LEN(cases); k++) {
        const char *t = cases[k].text;
        size_t len = strlen(t);
        kt_match m[2];
        uint32_t own = ph | KT_DETECT_REGION_BIT(cases[k].region);
        if (kt_detect(t, len, own, m, 2, NULL) != 1 || m[0].end != len)
            KT_FAILF("case %zu \"%s\": not found with its region", k, t);
        if (kt_detect(t, len, ph, m, 2, NULL) != 1) KT_FAILF("case %zu: not found by default", k);
        if (kt_detect(t, len, ph | KT_DETECT_REGIONS_SET, m, 2, NULL) != 0)
            KT_FAILF("case %zu: found with no region", k);
    }
    /* Shapes one region uses and another does not. */
    kt_match m0[2];
    const char *br = "(11) 91234-5678", *in = "98765 43210";
    KT_ASSERT_EQ_INT(kt_detect(br, strlen(br), ph | KT_DETECT_REGION_BIT(KT_REGION_DE), m0, 2, NULL), 0);
    KT_ASSERT_EQ_INT(kt_detect(in, strlen(in), ph | KT_DETECT_REGION_BIT(KT_REGION_GB), m0, 2, NULL), 0);
    const char *e164 = "+44 20 7946 0958";
    kt_match m[2];
    KT_ASSERT_EQ_INT(kt_detect(e164, strlen(e164), ph | KT_DETECT_REGIONS_SET, m, 2, NULL), 1);
    KT_ASSERT_EQ_STR(kt_region_name(KT_REGION_GB), "GB");
    KT_ASSERT_EQ_INT(kt_region_from_name("gb", 2), KT_REGION_GB);
    KT_ASSERT_EQ_INT(kt_region_from_name("NANP", 4), KT_REGION_US);
    KT_ASSERT_EQ_INT(kt_region_from_name("CA", 2), KT_REGION_US);
    KT_ASSERT_EQ_INT(kt_region_from_name("XX", 2), -1);
}

KT_TEST(several_entities_in_order)
{
    const char *t = "Mail a@b.io or call 415-555-2671; card 4111111111111111, ip 10.1.2.3, "
                    "key AKIAIOSFODNN7EXAMPLE.";
    kt_match m[8];
    int tr = 1;
    size_t n = kt_detect(t, strlen(t), KT_DETECT_ALL_MASK, m, 8, &tr);
    KT_ASSERT_EQ_INT(n, 5);
    KT_ASSERT_EQ_INT(tr, 0);
    kt_entity want[] = {KT_ENT_EMAIL, KT_ENT_PHONE, KT_ENT_CREDIT_CARD, KT_ENT_IPV4, KT_ENT_CLOUD_KEY};
    for (size_t k = 0; k < n && k < 5; k++) {
        KT_ASSERT_EQ_INT(m[k].ent, want[k]);
        if (k) KT_ASSERT(m[k].start >= m[k - 1].end);
    }
}

KT_TEST(truncation_and_resume)
{
    const char *t = "a@b.io c@d.io e@f.io g@h.io";
    size_t len = strlen(t);
    kt_match m[2];
    int tr = 0;
    KT_ASSERT_EQ_INT(kt_detect(t, len, KT_DETECT_ALL_MASK, m, 2, &tr), 2);
    KT_ASSERT_EQ_INT(tr, 1);
    size_t n = kt_detect_ctx(t, len, m[1].end, KT_DETECT_ALL_MASK, m, 2, &tr);
    KT_ASSERT_EQ_INT(n, 2);
    KT_ASSERT_EQ_INT(tr, 0);
    KT_ASSERT_EQ_INT(m[0].start, 14);
    KT_ASSERT_EQ_INT(m[1].end, len);
    KT_ASSERT_EQ_INT(kt_detect(t, len, KT_DETECT_ALL_MASK, NULL, 0, &tr), 0);
    KT_ASSERT_EQ_INT(tr, 1);
    KT_ASSERT_EQ_INT(kt_detect(t, len, 0, m, 2, &tr), 0);
    KT_ASSERT_EQ_INT(tr, 0);
}

KT_TEST(unterminated_private_key_runs_to_end_and_is_capped)
{
    static char big[20000];
    memset(big, 'A', sizeof big);
    memcpy(big, "-----BEGIN PRIVATE KEY-----\n", 28);
    kt_match m[4];
    size_t n = kt_detect(big, sizeof big, KT_DETECT_ALL_MASK, m, 4, NULL);
    KT_ASSERT_EQ_INT(n, 1);
    KT_ASSERT_EQ_INT(m[0].ent, KT_ENT_PRIVATE_KEY);
    KT_ASSERT_EQ_INT(m[0].start, 0);
    KT_ASSERT_EQ_INT(m[0].end, 8192);
    n = kt_detect(big, 100, KT_DETECT_ALL_MASK, m, 4, NULL);
    KT_ASSERT_EQ_INT(n, 1);
    KT_ASSERT_EQ_INT(m[0].end, 100);
}

KT_TEST(entity_names_round_trip)
{
    static const char *const names[] = {"email", "phone", "ssn", "credit_card", "iban", "ipv4",
                                        "ipv6", "api_key", "cloud_key", "private_key", "jwt",
                                        "bearer_token"};
    for (int e = 0; e < KT_ENT__COUNT; e++) {
        KT_ASSERT_EQ_STR(kt_entity_name((kt_entity)e), names[e]);
        KT_ASSERT_EQ_INT(kt_entity_from_name(names[e], strlen(names[e])), e);
    }
    KT_ASSERT(kt_entity_name(KT_ENT__COUNT) == NULL);
    KT_ASSERT_EQ_INT(kt_entity_from_name("CREDIT-CARD", 11), KT_ENT_CREDIT_CARD);
    KT_ASSERT_EQ_INT(kt_entity_from_name("bearer", 6), KT_ENT_BEARER);
    KT_ASSERT_EQ_INT(kt_entity_from_name("emails", 6), -1);
    KT_ASSERT_EQ_INT(kt_entity_from_name("emai", 4), -1);
    KT_ASSERT_EQ_INT(kt_entity_from_name(NULL, 0), -1);
}

KT_TEST(holdback_bounds)
{
    KT_ASSERT_EQ_INT(kt_detect_max_holdback(0), 0);
    KT_ASSERT(kt_detect_max_holdback(KT_ENT_BIT(KT_ENT_SSN)) < 64);
    KT_ASSERT(kt_detect_max_holdback(KT_DETECT_PII_MASK) >= 254);
    KT_ASSERT(kt_detect_max_holdback(KT_DETECT_ALL_MASK) >= 8192);
    const char *t = "no entities here at all ";
    KT_ASSERT_EQ_INT(kt_detect_stable_prefix(t, strlen(t), KT_DETECT_ALL_MASK), strlen(t));
    const char *u = "write to john.do";
    KT_ASSERT_EQ_INT(kt_detect_stable_prefix(u, strlen(u), KT_DETECT_ALL_MASK), 9);
    const char *v = "card 4111 1111";
    KT_ASSERT_EQ_INT(kt_detect_stable_prefix(v, strlen(v), KT_DETECT_ALL_MASK), 5);
    KT_ASSERT_EQ_INT(kt_detect_stable_prefix(v, strlen(v), 0), strlen(v));
}

int main(void)
{
    KT_RUN(comma_lists_are_not_thousands_grouping);
    KT_RUN(benign_corpus_has_no_match);
    KT_RUN(benign_corpus_joined_has_no_match);
    KT_RUN(true_positives_exact_spans);
    KT_RUN(several_entities_in_order);
    KT_RUN(aws_secret_after_its_key_id);
    KT_RUN(phone_regions_select_national_formats);
    KT_RUN(truncation_and_resume);
    KT_RUN(unterminated_private_key_runs_to_end_and_is_capped);
    KT_RUN(entity_names_round_trip);
    KT_RUN(holdback_bounds);
    return KT_DONE();
}
