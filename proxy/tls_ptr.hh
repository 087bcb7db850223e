#pragma once
// Owning handles for OpenSSL objects (one reference each; the deleter drops it), and the text
// of OpenSSL's last error. Shared by the TLS files of proxy/.

#include <memory>
#include <string>

#include <openssl/err.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace skjold::proxy {

struct OsslFree {
    void operator()(X509* p) const noexcept { X509_free(p); }
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
    void operator()(SSL* p) const noexcept { SSL_free(p); }
    void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
    void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
    void operator()(EVP_CIPHER* p) const noexcept { EVP_CIPHER_free(p); }
    void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
    void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
    void operator()(BIO* p) const noexcept { BIO_free(p); }
    void operator()(STACK_OF(X509)* p) const noexcept { sk_X509_pop_free(p, X509_free); }
};

using X509Ptr = std::unique_ptr<X509, OsslFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslFree>;
using SslPtr = std::unique_ptr<SSL, OsslFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, OsslFree>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslFree>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, OsslFree>;
using MdPtr = std::unique_ptr<EVP_MD, OsslFree>;
using MacPtr = std::unique_ptr<EVP_MAC, OsslFree>;
using BioPtr = std::unique_ptr<BIO, OsslFree>;
using X509ChainPtr = std::unique_ptr<STACK_OF(X509), OsslFree>;

// OpenSSL's reason for the last failure of this thread, leaving its error queue empty.
// Control plane (it allocates the string).
inline std::string ossl_reason() {
    unsigned long e = ERR_peek_last_error();
    const char* r = e != 0 ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    return r != nullptr ? r : "unknown OpenSSL error";
}

}  // namespace skjold::proxy
