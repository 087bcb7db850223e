#!/usr/bin/perl
# Writes a world-size country MaxMind DB from the `CIDR CC` world lists in shared/testdata, so
# prefix_table_bench can race libmaxminddb on the same networks our table holds. Run at bench
# time (Debian: libmaxmind-db-writer-perl); never by the tests.
#   perl world_mmdb.pl OUT.mmdb all-countries-v4.txt all-countries-v6.txt
# Records are {country => {iso_code => CC}}, as in GeoLite2-Country. Lines go in file order and
# a later insert overwrites an earlier one where they overlap: the lists are sorted by (address,
# length), so a nested prefix lands after its parent and wins, and for an identical prefix the
# last line wins, the rule skjold's table follows.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

die "usage: $0 OUT.mmdb LIST...\n" unless @ARGV >= 2;
my ($out, @lists) = @ARGV;

my %types = (country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => 'skjold-bench-Country',
    languages                => ['en'],
    description              => { en => 'skjold benchmark: the world lists of shared/testdata' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    alias_ipv6_to_ipv4       => 0,   # IPv4 lives under ::/96, where libmaxminddb looks for it
    remove_reserved_networks => 0,   # keep every listed network
);

my $count = 0;
for my $list (@lists) {
    open my $in, '<', $list or die "$list: $!\n";
    while (my $line = <$in>) {
        next if $line =~ /^\s*(#|$)/;
        my ($cidr, $cc) = split ' ', $line;
        die "$list:$.: expected 'CIDR CC'\n" unless defined $cc;
        $tree->insert_network($cidr, { country => { iso_code => $cc } });
        ++$count;
    }
    close $in;
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
print STDERR "world_mmdb.pl: $count networks -> $out\n";
