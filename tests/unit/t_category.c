/*
 * t_category.c - thread categories from a root message's subject, sender
 * and body, one case per rule in category.c; and the category names.
 */
#include "kv.h"
#include "subject.h"
#include "tap.h"
#include "category.h"

struct ccase {
	const char *subject;
	const char *from;
	const char *body;
	enum category want;
};

static const struct ccase cases[] = {
	/* 1. pull requests */
	{ "[GIT PULL] KVM/arm64 updates for 5.12", "maz@kernel.org", "Paolo,\n\nHere's the pull.\n", CAT_PULL },
	{ "[GIT PULL v2] KVM/arm64 fixes for 5.11", "maz@kernel.org", NULL, CAT_PULL },
	{ "Re: [GIT PULL] KVM/arm64 fixes", "pbonzini@redhat.com", NULL, CAT_PULL },
	{ "GIT PULL: arm64 fixes for -rc3", "will@kernel.org", NULL, CAT_PULL },
	{ "[PULL 0/3] KVM/arm64 fixes", "maz@kernel.org", NULL, CAT_PULL },
	/* 2. RFC wins over PATCH */
	{ "[RFC PATCH v2 3/7] KVM: arm64: Add a vcpu flag", "a@example.org", NULL, CAT_RFC },
	{ "[PATCH RFC] KVM: arm64: Try this", "a@example.org", NULL, CAT_RFC },
	{ "[RFC] KVM: arm64: Design for pKVM memory donation?", "a@example.org", NULL, CAT_RFC },
	{ "[kvm-unit-tests RFC PATCH 1/2] arm: realm", "a@example.org", NULL, CAT_RFC },
	/* 3. patches for any tree */
	{ "[PATCH] KVM: arm64: Fix a crash in vgic init", "a@example.org", NULL, CAT_PATCH },
	{ "[kvm-unit-tests PATCH v2 4/5] arm: pmu: Fix overflow test", "a@example.org", NULL, CAT_PATCH },
	{ "[PATCH kvmtool v2 0/6] arm64: Add SVE support", "a@example.org", NULL, CAT_PATCH },
	{ "[PATCH 6.1.y] KVM: arm64: Fix a regression", "a@example.org", NULL, CAT_PATCH },
	{ "[PATCHv2] arm64: Why not?", "a@example.org", NULL, CAT_PATCH },
	{ "Re: [PATCH v3 1/2] KVM: arm64: Something", "b@example.org", NULL, CAT_PATCH },
	{ "[v2 1/3] KVM: arm64: tag without PATCH", "a@example.org", NULL, CAT_PATCH },
	{ "KVM: arm64: untagged patch mail", "a@example.org",
	  "Fix the thing.\n\nSigned-off-by: A <a@example.org>\n---\ndiff --git a/x.c b/x.c\n", CAT_PATCH },
	/* 4. strong bug signals */
	{ "[syzbot] WARNING in kvm_arch_vcpu_ioctl_run", "syzbot+abc@syzkaller.appspotmail.com", NULL, CAT_BUG },
	{ "general protection fault in kvm_vm_ioctl", "syzbot+123@syzkaller.appspotmail.com", NULL, CAT_BUG },
	{ "BUG: unable to handle kernel NULL pointer dereference in vgic", "x@example.org", NULL, CAT_BUG },
	{ "WARNING: CPU: 3 PID: 1 at arch/arm64/kvm/mmu.c", "x@example.org", NULL, CAT_BUG },
	{ "KASAN: use-after-free in kvm_io_bus_unregister_dev", "x@example.org", NULL, CAT_BUG },
	{ "[linux-next:master] BUILD REGRESSION 1234abcd5678", "lkp@intel.com", NULL, CAT_BUG },
	{ "[kvmarm:next 3/9] arch/arm64/kvm/arm.c:12:5: warning: unused variable 'x'", "lkp@intel.com", NULL, CAT_BUG },
	{ "[BUG] arm64: guest stuck after migration", "x@example.org", NULL, CAT_BUG },
	{ "[REGRESSION] 5.12-rc1: vcpu fails to start", "x@example.org", NULL, CAT_BUG },
	{ "arm64: gen-hyprel.c:40:10: fatal error: generated/autoconf.h: No such file or directory",
	  "x@example.org", NULL, CAT_BUG },
	{ "[syzbot] [kvmarm?] [kvm?] WARNING: locking bug in vgic_put_irq", "syzbot+1@syzkaller.appspotmail.com", NULL, CAT_BUG },
	/* stable-tree notices quote the patch title, "panic" included */
	{ "Patch \"KVM: arm64: Fix nVHE hyp panic host context restore\" has been added to the 5.10-stable tree",
	  "gregkh@linuxfoundation.org", NULL, CAT_OTHER },
	{ "FAILED: patch \"[PATCH] KVM: arm64: Fix crash\" failed to apply to 5.4-stable tree",
	  "gregkh@linuxfoundation.org", NULL, CAT_OTHER },
	/* robot success mails are not bugs */
	{ "[kvmarm:next] BUILD SUCCESS 0123456789abcdef", "lkp@intel.com", NULL, CAT_OTHER },
	/* 5. explicit questions win over weak bug words */
	{ "[QUESTION] Why does the guest crash on reboot", "x@example.org", NULL, CAT_QUESTION },
	{ "Question about stage-2 page table sharing", "x@example.org", NULL, CAT_QUESTION },
	{ "How to run kvm-unit-tests on a Raspberry Pi", "x@example.org", NULL, CAT_QUESTION },
	/* 6. weak bug signals */
	{ "arm64: guest hangs when booting with 512 vcpus", "x@example.org", NULL, CAT_BUG },
	{ "Regression in 5.11-rc4 with nested virt", "x@example.org", NULL, CAT_BUG },
	{ "Host panic with PMU passthrough", "x@example.org", NULL, CAT_BUG },
	{ "Why does the guest crash after suspend?", "x@example.org", NULL, CAT_BUG },
	{ "Strange behaviour after upgrade", "x@example.org",
	  "Hi,\n\nAfter the upgrade I see this:\n\n[ 12.3] Internal error: Oops: 96000004 [#1] SMP\n[ 12.3] Call trace:\n", CAT_BUG },
	/* 7. implicit questions */
	{ "Is vgic-v2 emulation still supported on GICv3 hosts?", "x@example.org", NULL, CAT_QUESTION },
	{ "Why is the VMID width 8 bits", "x@example.org", NULL, CAT_QUESTION },
	{ "KVM on Apple M1", "x@example.org",
	  "Hello,\n\nDoes anyone know whether KVM works on the M1 yet.\n\nThanks\n", CAT_QUESTION },
	{ "Stage-2 mappings for device memory", "x@example.org",
	  "> quoted? text?\n\nI read the code in mmu.c. Should these be mapped as normal memory?\n", CAT_QUESTION },
	{ "kvm_arch_vcpu_ioctl_run returns -EINVAL after migration", "x@example.org",
	  "Hi all,\n\nI see the following warning in dmesg when starting more than 64 vcpus.\n"
	  "Has anyone seen this before? Any pointer would be appreciated. I am\ntrying to boot.\n", CAT_QUESTION },
	/* a "?" inside a kernel log line asks nothing */
	{ "Unexpected PMCR_EL0 trap", "x@example.org",
	  "Hi all,\n\n[  1.0] kvm: what? no\nI am using QEMU 8.2.\n", CAT_OTHER },
	/* 8. a problem in prose */
	{ "Unexpected PMCR_EL0 trap on Neoverse-V2", "x@example.org",
	  "Hi all,\n\nI see the following warning in dmesg when starting 64 vcpus.\n\n"
	  "[  419.05] kvm [6999]: Unsupported guest sys_reg access at: 1d9afc02 [c2a01a14]\n\nThanks,\n", CAT_BUG },
	/* 9. other */
	{ "[ANNOUNCE] KVM Forum 2021 call for presentations", "x@example.org",
	  "The KVM Forum will be held online.\n", CAT_OTHER },
	{ "KVM/arm64 maintainership changes", "x@example.org", "Hi all,\n\nJust a note.\n", CAT_OTHER },
	{ "", NULL, NULL, CAT_OTHER },
	/* the body of a question is not read past a signature */
	{ "Thanks for the meeting", "x@example.org", "See you next week.\n-- \nWhy? Because.\n", CAT_OTHER },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ccase *c = &cases[i];
		struct subject_info si;
		subject_parse(c->subject, &si);
		enum category got = category_classify(&si, c->from, c->body,
						       c->body ? strlen(c->body) : 0);
		if (!ok(got == c->want, "%s -> %s", c->subject, category_name(c->want)))
			diag("got %s", category_name(got));
	}

	is_str(category_name(CAT_PATCH), "PATCH", "name PATCH");
	is_str(category_name(CAT_RFC), "RFC", "name RFC");
	is_str(category_name(CAT_BUG), "Bug Report", "name Bug Report");
	is_str(category_name(CAT_PULL), "GIT PULL", "name GIT PULL");
	is_str(category_name(CAT_QUESTION), "Question", "name Question");
	is_str(category_name(CAT_OTHER), "Other", "name Other");
	for (int c = 0; c < CAT_COUNT; c++)
		is_int(category_from_name(category_name(c)), c, category_name(c));
	is_int(category_from_name("bug report"), CAT_BUG, "from_name is case-insensitive");
	is_int(category_from_name("git pull"), CAT_PULL, "from_name git pull");
	is_int(category_from_name("patches"), -1, "from_name unknown");
	is_int(category_from_name(NULL), -1, "from_name NULL");
	return done_testing();
}
