<?php
// mercure-publish.php: publishes one update with Debian's php-symfony-mercure
// (Symfony\Component\Mercure\Hub, unchanged), as a Symfony application
// would. The JWT is minted here with PHP's own hash_hmac and handed to the
// library's StaticTokenProvider (its FactoryTokenProvider needs lcobucci/jwt,
// which Debian does not package).
//   php mercure-publish.php HUB-URL SECRET [--topic T]... [--data D]
//       [--private] [--id ID] [--type TYPE] [--retry MS] [--claims JSON]
// Prints the id the hub answered; on failure the reason on stderr, exit 1.
require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Update;

function b64url(string $s): string
{
    return rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
}

if ($argc < 3) {
    fwrite(STDERR, "usage: mercure-publish.php HUB-URL SECRET [options]\n");
    exit(2);
}
[$url, $secret] = [$argv[1], $argv[2]];
$topics = [];
$data = '';
$private = false;
$id = $type = $retry = null;
$claims = '{"mercure":{"publish":["*"]}}';
for ($i = 3; $i < $argc; $i++) {
    switch ($argv[$i]) {
        case '--topic':   $topics[] = $argv[++$i]; break;
        case '--data':    $data = $argv[++$i]; break;
        case '--private': $private = true; break;
        case '--id':      $id = $argv[++$i]; break;
        case '--type':    $type = $argv[++$i]; break;
        case '--retry':   $retry = (int) $argv[++$i]; break;
        case '--claims':  $claims = $argv[++$i]; break;
        default:
            fwrite(STDERR, "mercure-publish.php: unknown option {$argv[$i]}\n");
            exit(2);
    }
}

$input = b64url('{"alg":"HS256","typ":"JWT"}') . '.' . b64url($claims);
$jwt = $input . '.' . b64url(hash_hmac('sha256', $input, $secret, true));

try {
    $hub = new Hub($url, new StaticTokenProvider($jwt));
    echo $hub->publish(new Update($topics, $data, $private, $id, $type, $retry)), "\n";
} catch (\Throwable $e) {
    $why = $e->getMessage();
    for ($p = $e->getPrevious(); $p; $p = $p->getPrevious()) {
        $why .= ': ' . $p->getMessage();
    }
    fwrite(STDERR, "mercure-publish.php: $why\n");
    exit(1);
}
