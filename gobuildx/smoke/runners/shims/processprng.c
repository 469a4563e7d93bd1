/* bcryptprimitives.dll for Wine < 9, which lacks it.
 *
 * Go >= 1.22 on Windows gets its random bytes from ProcessPrng in bcryptprimitives.dll
 * and dies ("bcryptprimitives.dll not found") when the DLL is missing. This DLL exports
 * ProcessPrng and fills the buffer with RtlGenRandom (SystemFunction036 in advapi32),
 * which Wine 8 implements. gobuildx builds it with `zig cc -target x86_64-windows-gnu
 * -shared` and places it in the system32 of the Wine prefix it smokes Windows binaries in.
 */
#include <windows.h>

typedef BOOLEAN (WINAPI *RtlGenRandomFn)(PVOID, ULONG);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    static RtlGenRandomFn gen;
    if (!gen) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (!advapi)
            return FALSE;
        gen = (RtlGenRandomFn)GetProcAddress(advapi, "SystemFunction036");
        if (!gen)
            return FALSE;
    }
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!gen(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
